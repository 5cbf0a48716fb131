{#-
    As-of join: every row of `rows` gets the columns of the latest row of `series` dated strictly before
    the row's date (on or before it with strict=false), matched on the `match_on` columns. The columns
    are NULL where there is no such series row, or where it is more than `max_lag_days` calendar days
    older than the row (a series that stopped is missing data, not a value to carry forward forever).

    Returns a select statement, to be used as a CTE body: `rows.*`, then one column per entry of
    `columns`, each named by the caller: a mapping {series column: output column}, e.g.
    {'level': 'vix_level', 'level_z_60': 'vix_z_60'}, or a list of series columns that keep their names.
    The macro never makes up a name, so grepping a feature name finds the call that computes it.
    With `as_of_date_column`, also the series date used, under that name. `rows` and `series` are
    relation or CTE names; `series` must be unique on (match_on..., series_date), and `match_on` columns
    carry the same names in both.
-#}
{% macro asof_before(
    rows,
    series,
    columns,
    rows_date='trade_date',
    series_date='series_date',
    match_on=[],
    as_of_date_column=none,
    max_lag_days=none,
    strict=true
) %}
    {%- if rows is not string or rows | trim == '' or series is not string or series | trim == '' -%}
        {{ exceptions.raise_compiler_error(
            "asof_before needs `rows` and `series`: the names of two relations or CTEs, e.g. "
            ~ "asof_before('calendar', 'vix', {'level': 'vix_level'})"
        ) }}
    {%- endif -%}
    {%- if columns is string or columns is not iterable or columns | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            "asof_before needs `columns`: a non-empty mapping {column of `" ~ series ~ "`: output column}, "
            ~ "e.g. {'level': 'vix_level'}, or a non-empty list of columns that keep their names; got " ~ columns
        ) }}
    {%- endif -%}
    {%- if columns is mapping -%}
        {%- set output_columns = columns -%}
    {%- else -%}
        {%- set output_columns = {} -%}
        {%- for column in columns -%}
            {%- do output_columns.update({column: column}) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- set output_names = (output_columns.values() | list)
        + ([as_of_date_column] if as_of_date_column is not none else []) -%}
    {%- for name in (output_columns.keys() | list) + output_names -%}
        {%- if name is not string or name | trim == '' -%}
            {{ exceptions.raise_compiler_error(
                "asof_before: series columns and output columns must be non-empty names, got columns "
                ~ columns ~ " and as_of_date_column " ~ as_of_date_column
            ) }}
        {%- endif -%}
    {%- endfor -%}
    {%- if output_names | unique | list | length != output_names | length -%}
        {{ exceptions.raise_compiler_error(
            "asof_before: give every output column its own name, got " ~ output_names
        ) }}
    {%- endif -%}
    {%- if match_on is string or match_on is not iterable -%}
        {{ exceptions.raise_compiler_error(
            "asof_before: `match_on` must be a list of column names present in both relations, got " ~ match_on
        ) }}
    {%- endif -%}
    {%- if max_lag_days is not none and (max_lag_days is not number or max_lag_days < 1) -%}
        {{ exceptions.raise_compiler_error(
            "asof_before: `max_lag_days` must be a positive number of calendar days, or none, got " ~ max_lag_days
        ) }}
    {%- endif -%}
    {%- if strict is not sameas true and strict is not sameas false -%}
        {{ exceptions.raise_compiler_error("asof_before: `strict` must be true or false, got " ~ strict) }}
    {%- endif -%}
    {{ return(adapter.dispatch('asof_before')(
        rows, series, output_columns, rows_date, series_date, match_on, as_of_date_column, max_lag_days, strict
    )) }}
{% endmacro %}

{#-
    Portable version (window functions and joins only). Row dates and series dates are stacked in one
    timeline per match key; a row sorts before a series row of the same date when strict (so it does
    not see a series value dated on its own date), after it otherwise. The running max of the series
    dates is then the date of the latest series row before (or at) each row date, and the series row
    of that date is joined back whole. Carrying each column forward with last_value(... ignore nulls)
    would be wrong here: a series row whose column is NULL (warm-up) would show an older row's value.
    Here `columns` is always a mapping {series column: output column} (asof_before turns a list into one).
-#}
{% macro default__asof_before(
    rows, series, columns, rows_date, series_date, match_on, as_of_date_column, max_lag_days, strict
) %}
    {%- set row_rank = 0 if strict else 1 -%}
    {%- set series_rank = 1 if strict else 0 %}
    select
        {{ rows }}.*
        {%- if as_of_date_column is not none %},
        asof_series.{{ series_date }} as {{ as_of_date_column }}
        {%- endif %}
        {%- for column, output_column in columns.items() %},
        asof_series.{{ column }} as {{ output_column }}
        {%- endfor %}
    from {{ rows }}
    left join (
        select
            {%- for key in match_on %}
            {{ key }},
            {%- endfor %}
            asof_date,
            asof_rank,
            max(case when asof_rank = {{ series_rank }} then asof_date end) over (
                {% if match_on | length > 0 %}partition by {{ match_on | join(', ') }}{% endif %}
                order by asof_date, asof_rank
                rows between unbounded preceding and current row
            ) as matched_date
        from (
            select distinct
                {%- for key in match_on %}
                {{ key }},
                {%- endfor %}
                {{ rows_date }} as asof_date,
                {{ row_rank }} as asof_rank
            from {{ rows }}
            union all
            select
                {%- for key in match_on %}
                {{ key }},
                {%- endfor %}
                {{ series_date }} as asof_date,
                {{ series_rank }} as asof_rank
            from {{ series }}
        ) as asof_timeline
    ) as asof_matches
        on
            {% for key in match_on -%}
            {{ rows }}.{{ key }} = asof_matches.{{ key }}
            and {% endfor -%}
            {{ rows }}.{{ rows_date }} = asof_matches.asof_date
            and asof_matches.asof_rank = {{ row_rank }}
    left join {{ series }} as asof_series
        on
            {% for key in match_on -%}
            asof_matches.{{ key }} = asof_series.{{ key }}
            and {% endfor -%}
            asof_matches.matched_date = asof_series.{{ series_date }}
            {%- if max_lag_days is not none %}
            and asof_series.{{ series_date }}
            >= cast({{ dbt.dateadd('day', -max_lag_days, rows ~ '.' ~ rows_date) }} as date)
            {%- endif %}
{% endmacro %}

{#-
    DuckDB has a native as-of join (ASOF LEFT JOIN: equalities plus one inequality, the nearest match
    wins), far cheaper than the stacked timeline. Its condition takes nothing else, so the freshness
    guard moves from the join to the selected columns.
-#}
{% macro duckdb__asof_before(
    rows, series, columns, rows_date, series_date, match_on, as_of_date_column, max_lag_days, strict
) %}
    {%- if max_lag_days is none -%}
        {%- set fresh = series ~ '.' ~ series_date ~ ' is not null' -%}
    {%- else -%}
        {%- set fresh = series ~ '.' ~ series_date ~ ' >= cast('
            ~ dbt.dateadd('day', -max_lag_days, rows ~ '.' ~ rows_date) ~ ' as date)' -%}
    {%- endif %}
    select
        {{ rows }}.*
        {%- if as_of_date_column is not none %},
        case when {{ fresh }} then {{ series }}.{{ series_date }} end as {{ as_of_date_column }}
        {%- endif %}
        {%- for column, output_column in columns.items() %},
        case when {{ fresh }} then {{ series }}.{{ column }} end as {{ output_column }}
        {%- endfor %}
    from {{ rows }}
    asof left join {{ series }}
        on
            {% for key in match_on -%}
            {{ rows }}.{{ key }} = {{ series }}.{{ key }}
            and {% endfor -%}
            {{ rows }}.{{ rows_date }} {{ '>' if strict else '>=' }} {{ series }}.{{ series_date }}
{% endmacro %}

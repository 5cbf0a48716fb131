{#-
    Sum of an event value over a trailing calendar-day window: for each row of `rows`, the sum of
    `value` over the rows of `events` with the same `match_on` keys and
    `event_date` in (row date - `window_days` days, row date]. Returns a select statement (a CTE body)
    with the match keys, `rows_date` and `<alias>`, one row per (keys, date) that has at least one event
    in its window: rows without any are absent, so the caller decides between NULL and 0.
    A range join rather than a RANGE window frame: interval frames are not portable, and events are few.
-#}
{% macro sum_events_in_window(
    rows,
    events,
    value,
    window_days,
    alias='window_sum',
    rows_date='trade_date',
    event_date='available_date',
    match_on=['ticker']
) %}
    {%- if rows is not string or events is not string or value is not string -%}
        {{ exceptions.raise_compiler_error(
            "sum_events_in_window needs `rows` and `events` (relation or CTE names) and `value` (a SQL expression)"
        ) }}
    {%- endif -%}
    {%- if window_days is not number or window_days < 1 -%}
        {{ exceptions.raise_compiler_error(
            "sum_events_in_window needs `window_days`: a positive number of calendar days, got " ~ window_days
        ) }}
    {%- endif -%}
    {%- if match_on is string or match_on is not iterable or match_on | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            "sum_events_in_window needs `match_on`: a non-empty list of key columns in both relations, e.g. ['ticker']"
        ) }}
    {%- endif %}
    select
        {%- for key in match_on %}
        {{ rows }}.{{ key }},
        {%- endfor %}
        {{ rows }}.{{ rows_date }},
        sum({{ events }}.{{ value }}) as {{ alias }}
    from {{ rows }}
    inner join {{ events }}
        on
            {% for key in match_on -%}
            {{ rows }}.{{ key }} = {{ events }}.{{ key }}
            and {% endfor -%}
            {{ rows }}.{{ rows_date }} >= {{ events }}.{{ event_date }}
            and {{ events }}.{{ event_date }}
            > cast({{ dbt.dateadd('day', -(window_days | int), rows ~ '.' ~ rows_date) }} as date)
    group by
        {%- for key in match_on %}
        {{ rows }}.{{ key }},
        {%- endfor %}
        {{ rows }}.{{ rows_date }}
{% endmacro %}

{#-
    Edge of a binary signal on forward returns, one row per group: the mean forward return on signal days
    minus the mean on the other days, with a standard error that allows for overlapping returns.

    `observations` is a relation (or CTE name) with the `groups` columns, `time_column`, `is_high` (1 on
    signal days, 0 on the others) and `fwd_ret`. The edge is the slope b of fwd_ret = a + b * is_high + e
    fitted by least squares within each group, whose standard error is

        var(b) = S / (sum of (is_high - p)^2)^2,   p = the group's share of signal days,
        S = sum_t h_t^2 + 2 * sum_{l=1..lags} (1 - l / (lags + 1)) * sum_t h_t * h_{t-l},
        h_t = sum over the group's rows at time t of (is_high - p) * e.

    With one row per time (a ticker's own days) this is Newey-West with a Bartlett kernel; with many rows
    per time (every ticker on a date, pooled) it is Driscoll-Kraay: the cross-section of a day is summed
    first, so days on which every stock moves together count once, then Newey-West runs over days. For a
    forward return over H days, lags = H - 1 covers the overlap of consecutive windows. No small-sample
    correction. Plain SQL window functions: the same on DuckDB and Spark.
-#}
{% macro signal_edge(observations, groups, lags, time_column='trade_date') %}
    {%- if groups is string or groups | length == 0 -%}
        {{ exceptions.raise_compiler_error("signal_edge needs `groups`: a list of column names, got " ~ groups) }}
    {%- endif -%}
    {%- if lags is not number or lags < 0 -%}
        {{ exceptions.raise_compiler_error("signal_edge needs `lags`: a whole number >= 0, got " ~ lags) }}
    {%- endif -%}
    {%- set group_list = groups | join(', ') -%}
    {%- set same_group -%}
        {%- for column in groups %} observations.{{ column }} = group_means.{{ column }}{{ ' and' if not loop.last }}{% endfor -%}
    {%- endset %}
    with observations as (
        select * from {{ observations }}
    ),

    group_means as (
        select
            {{ group_list }},
            count(*) as n_days,
            cast(sum(is_high) as bigint) as n_high,
            avg(cast(is_high as double)) as high_share,
            avg(case when is_high = 1 then fwd_ret end) as mean_high,
            avg(case when is_high = 0 then fwd_ret end) as mean_low
        from observations
        group by {{ group_list }}
    ),

    residuals as (
        select
            {%- for column in groups %}
            observations.{{ column }},
            {%- endfor %}
            observations.{{ time_column }},
            observations.is_high - group_means.high_share as centred_signal,
            (observations.is_high - group_means.high_share) * (
                observations.fwd_ret
                - case when observations.is_high = 1 then group_means.mean_high else group_means.mean_low end
            ) as score_term
        from observations
        inner join group_means on {{ same_group }}
    ),

    time_sums as (
        select
            {{ group_list }},
            {{ time_column }},
            sum(score_term) as score_sum,
            sum(centred_signal * centred_signal) as signal_square
        from residuals
        group by {{ group_list }}, {{ time_column }}
    ),

    lagged as (
        select
            {{ group_list }},
            signal_square,
            score_sum * score_sum as lag_0
            {%- for lag in range(1, lags + 1) %},
            score_sum * lag(score_sum, {{ lag }}) over (
                partition by {{ group_list }} order by {{ time_column }}
            ) as lag_{{ lag }}
            {%- endfor %}
        from time_sums
    ),

    long_run_variance as (
        select
            {{ group_list }},
            sum(signal_square) as signal_sum_of_squares,
            sum(lag_0)
            {%- for lag in range(1, lags + 1) %}
            + 2 * (1 - {{ lag }} / {{ lags + 1 }}.0) * coalesce(sum(lag_{{ lag }}), 0)
            {%- endfor %} as score_variance
        from lagged
        group by {{ group_list }}
    ),

    edges as (
        select
            {%- for column in groups %}
            group_means.{{ column }},
            {%- endfor %}
            group_means.n_days,
            group_means.n_high,
            group_means.n_days - group_means.n_high as n_low,
            group_means.mean_high,
            group_means.mean_low,
            group_means.mean_high - group_means.mean_low as edge,
            case
                when long_run_variance.score_variance > 0
                    then sqrt(long_run_variance.score_variance) / long_run_variance.signal_sum_of_squares
            end as standard_error
        from group_means
        inner join long_run_variance on
            {%- for column in groups %} group_means.{{ column }} = long_run_variance.{{ column }}{{ ' and' if not loop.last }}{% endfor %}
    )

    select
        edges.*,
        {{ safe_divide('edges.edge', 'edges.standard_error') }} as t_stat
    from edges
{% endmacro %}

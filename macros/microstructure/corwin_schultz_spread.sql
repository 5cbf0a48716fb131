{#-
    Corwin-Schultz (2012) bid-ask spread estimate from the high-low ranges of two consecutive days
    (yesterday and today, so it is known at today's close), floored at 0:
        beta  = ln(high_t / low_t)^2 + ln(high_{t-1} / low_{t-1})^2
        gamma = ln(max(high_t, high_{t-1}) / min(low_t, low_{t-1}))^2
        alpha = (sqrt(2 beta) - sqrt(beta)) / (3 - 2 sqrt 2) - sqrt(gamma / (3 - 2 sqrt 2))
        spread = 2 (e^alpha - 1) / (1 + e^alpha)
    written as 2 tanh(alpha / 2), the same number, so that alpha appears once in the SQL. The paper's
    overnight-gap adjustment of the ranges is not applied (the feature catalog does not ask for it).
    NULL when either day's high or low is missing or zero (so on a ticker's first row).
-#}
{% macro corwin_schultz_spread(high, low, prev_high, prev_low) %}
    {%- for name, argument in {'high': high, 'low': low, 'prev_high': prev_high, 'prev_low': prev_low}.items() -%}
        {%- if argument is not string or argument | trim == '' -%}
            {{ exceptions.raise_compiler_error(
                "corwin_schultz_spread needs `" ~ name ~ "`: a SQL expression string (a column of the day's "
                ~ "or the previous day's high/low), got " ~ argument
            ) }}
        {%- endif -%}
    {%- endfor -%}
    {%- set squared_log_range_today = 'power(ln(nullif(' ~ high ~ ', 0) / nullif(' ~ low ~ ', 0)), 2)' -%}
    {%- set squared_log_range_prev = 'power(ln(nullif(' ~ prev_high ~ ', 0) / nullif(' ~ prev_low ~ ', 0)), 2)' -%}
    {%- set beta = '(' ~ squared_log_range_today ~ ' + ' ~ squared_log_range_prev ~ ')' -%}
    {%- set gamma = 'power(ln(nullif(greatest(' ~ high ~ ', ' ~ prev_high ~ '), 0) / nullif(least('
        ~ low ~ ', ' ~ prev_low ~ '), 0)), 2)' -%}
    {%- set k = '(3 - 2 * sqrt(2))' -%}
    {%- set spread = '2 * tanh(((sqrt(2 * ' ~ beta ~ ') - sqrt(' ~ beta ~ ')) / ' ~ k ~ ' - sqrt(' ~ gamma ~ ' / '
        ~ k ~ ')) / 2)' -%}
    {#- case, not greatest(spread, 0): DuckDB's greatest() skips NULLs and would turn a first row into 0. -#}
    case when {{ spread }} < 0 then 0 else {{ spread }} end
{%- endmacro %}

{#-
    Garman-Klass (1980) volatility, annualized:
    sqrt(0.5 * mean(ln(high / low)^2) - (2 ln 2 - 1) * mean(ln(close / open)^2)) * sqrt(periods_per_year)
    (the mean of the daily terms, written as the same combination of the two means). NULL where the
    variance comes out negative, which happens only when close or open lie outside [low, high]: sqrt of
    a negative number is NaN in DuckDB.
-#}
{% macro garman_klass_volatility(mean_squared_log_range, mean_squared_log_body, periods_per_year=252) %}
    {%- for name, argument in {
        'mean_squared_log_range': mean_squared_log_range, 'mean_squared_log_body': mean_squared_log_body
    }.items() -%}
        {%- if argument is not string or argument | trim == '' -%}
            {{ exceptions.raise_compiler_error(
                "garman_klass_volatility needs `" ~ name ~ "`: a SQL expression string, the windowed mean of "
                ~ "ln(high / low)^2 (range) or ln(close / open)^2 (body), got " ~ argument
            ) }}
        {%- endif -%}
    {%- endfor -%}
    {%- if periods_per_year is not number or periods_per_year <= 0 -%}
        {{ exceptions.raise_compiler_error(
            "garman_klass_volatility needs `periods_per_year`: a positive number (252 for daily rows), got "
            ~ periods_per_year
        ) }}
    {%- endif -%}
    {%- set variance = '(0.5 * (' ~ mean_squared_log_range ~ ') - (2 * ln(2) - 1) * (' ~ mean_squared_log_body ~ '))' -%}
    case when {{ variance }} >= 0 then sqrt({{ variance }}) * sqrt({{ periods_per_year }}) end
{%- endmacro %}

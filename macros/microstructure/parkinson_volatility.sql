{#-
    Parkinson (1980) high-low volatility, annualized:
    sqrt(mean(ln(high / low)^2) / (4 ln 2)) * sqrt(periods_per_year).
    Pass the mean of ln(high / low)^2 already taken over the window.
-#}
{% macro parkinson_volatility(mean_squared_log_range, periods_per_year=252) %}
    {%- if mean_squared_log_range is not string or mean_squared_log_range | trim == '' -%}
        {{ exceptions.raise_compiler_error(
            "parkinson_volatility needs `mean_squared_log_range`: a SQL expression string, the windowed "
            ~ "mean of ln(high / low)^2, got " ~ mean_squared_log_range
        ) }}
    {%- endif -%}
    {%- if periods_per_year is not number or periods_per_year <= 0 -%}
        {{ exceptions.raise_compiler_error(
            "parkinson_volatility needs `periods_per_year`: a positive number (252 for daily rows), got "
            ~ periods_per_year
        ) }}
    {%- endif -%}
    sqrt(({{ mean_squared_log_range }}) / (4 * ln(2))) * sqrt({{ periods_per_year }})
{%- endmacro %}

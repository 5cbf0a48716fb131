{#-
    Rate of change in percent over `window_rows` rows of the partition, as TA-Lib ROC:
    (value / value `window_rows` rows back - 1) x 100. NULL during the first `window_rows` rows and
    where the value back then is 0 or NULL (TA-Lib writes 0 there; the feature contract wants NULL).
-#}
{% macro rate_of_change(value, window_rows, partition_by='ticker', order_by='ticker_row') %}
    {%- if value is not string or value | trim == '' -%}
        {{ exceptions.raise_compiler_error("rate_of_change needs `value`: a SQL expression string, got " ~ value) }}
    {%- endif -%}
    {%- if window_rows is not number or window_rows | int != window_rows or window_rows < 1 -%}
        {{ exceptions.raise_compiler_error(
            "rate_of_change needs `window_rows`: an integer >= 1 (rows back), got " ~ window_rows
        ) }}
    {%- endif -%}
    100 * ({{ safe_divide(value, 'lag(' ~ value ~ ', ' ~ window_rows ~ ') over (partition by ' ~ partition_by
        ~ ' order by ' ~ order_by ~ ')') }} - 1)
{%- endmacro %}

{#-
    Mean absolute deviation of `value` over the trailing `window_rows` rows (today included) around
    `center`, a column holding today's window mean: sum over k of |value_(t-k) - center_t| / n. The
    center changes every row, so no running aggregate gives this; it is a sum of `window_rows` lags
    (one sort shared by all of them), portable to any engine with lag(). NULL until the window is full.
    TA-Lib's CCI divides by this.
-#}
{% macro mean_absolute_deviation(value, center, window_rows, partition_by='ticker', order_by='ticker_row') %}
    {%- if value is not string or value | trim == '' or center is not string or center | trim == '' -%}
        {{ exceptions.raise_compiler_error("mean_absolute_deviation needs `value` and `center` as SQL expressions "
            ~ "(strings), got " ~ value ~ ", " ~ center) }}
    {%- endif -%}
    {%- if window_rows is not integer or window_rows < 1 or window_rows > 250 -%}
        {{ exceptions.raise_compiler_error("mean_absolute_deviation needs `window_rows`, an integer from 1 to 250 "
            ~ "(one lag per row), got " ~ window_rows) }}
    {%- endif -%}
    (
        abs({{ value }} - {{ center }})
        {%- for offset in range(1, window_rows) %}
        + abs(lag({{ value }}, {{ offset }}) over (partition by {{ partition_by }} order by {{ order_by }}) - {{ center }})
        {%- endfor %}
    ) / {{ window_rows }}
{%- endmacro %}

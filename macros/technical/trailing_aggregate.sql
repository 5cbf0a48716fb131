{#-
    An aggregate over the trailing `window_rows` rows of the partition (today included), NULL until the
    window holds `window_rows` non-NULL values: the warm-up of a window feature is NULL, never a value
    over a shorter window.

    By default a count over the same frame decides the warm-up. Where `value` is known to be non-NULL
    from row `value_from_row` of the partition on (1 for a price, 2 for a return), pass it: the window
    is then full from row value_from_row + window_rows - 1 (`order_by` must number the rows 1, 2, ...),
    which saves a window aggregate per column.

        {{ trailing_aggregate('avg', 'close', 20, value_from_row=1) }}
-#}
{% macro trailing_aggregate(
    aggregate, value, window_rows, partition_by='ticker', order_by='ticker_row', value_from_row=none
) %}
    {%- if aggregate is not string or aggregate | trim == '' or value is not string or value | trim == '' -%}
        {{ exceptions.raise_compiler_error("trailing_aggregate needs `aggregate` (a function name such as 'avg') "
            ~ "and `value` (a SQL expression) as strings, got " ~ aggregate ~ ", " ~ value) }}
    {%- endif -%}
    {%- if window_rows is not integer or window_rows < 1 -%}
        {{ exceptions.raise_compiler_error("trailing_aggregate needs `window_rows`, an integer >= 1, got "
            ~ window_rows) }}
    {%- endif -%}
    {%- if value_from_row is not none and (value_from_row is not integer or value_from_row < 1) -%}
        {{ exceptions.raise_compiler_error("trailing_aggregate: `value_from_row` is the row number (>= 1) from "
            ~ "which the value is never NULL, or none; got " ~ value_from_row) }}
    {%- endif -%}
    {%- set frame = "partition by " ~ partition_by ~ " order by " ~ order_by
        ~ " rows between " ~ (window_rows - 1) ~ " preceding and current row" -%}
    case
        {%- if value_from_row is none %}
        when count({{ value }}) over ({{ frame }}) = {{ window_rows }}
        {%- else %}
        when {{ order_by }} >= {{ value_from_row + window_rows - 1 }}
        {%- endif %}
            then {{ aggregate }}({{ value }}) over ({{ frame }})
    end
{%- endmacro %}

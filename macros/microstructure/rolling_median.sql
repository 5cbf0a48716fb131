{#-
    Median of `value` over the `window_rows` rows of the partition ending today (`include_current`) or
    ending yesterday (not including today), NULL until that frame holds `window_rows` non-NULL values.
    Used by institutional_activity (dollar volume vs its median) and by the volume-flow IFI (heavy-volume days).
-#}
{% macro rolling_median(value, window_rows, partition_by='ticker', order_by='ticker_row', include_current=true) %}
    {%- if value is not string or value | trim == '' -%}
        {{ exceptions.raise_compiler_error("rolling_median needs `value`: a SQL expression string, got " ~ value) }}
    {%- endif -%}
    {%- if window_rows is not number or window_rows | int != window_rows or window_rows < 2 -%}
        {{ exceptions.raise_compiler_error(
            "rolling_median needs `window_rows`: an integer >= 2 (rows in the frame), got " ~ window_rows
        ) }}
    {%- endif -%}
    {%- if include_current is not boolean -%}
        {{ exceptions.raise_compiler_error(
            "rolling_median needs `include_current`: true (frame ends today) or false (frame ends yesterday), got "
            ~ include_current
        ) }}
    {%- endif -%}
    {%- set frame_end = 'current row' if include_current else '1 preceding' -%}
    {%- set frame_start = (window_rows - 1 if include_current else window_rows) ~ ' preceding' -%}
    {%- set frame = 'partition by ' ~ partition_by ~ ' order by ' ~ order_by
        ~ ' rows between ' ~ frame_start ~ ' and ' ~ frame_end -%}
    case
        when count({{ value }}) over ({{ frame }}) = {{ window_rows }}
            then {{ adapter.dispatch('rolling_median')(value, frame) }}
    end
{%- endmacro %}

{#-
    `median` as a framed window aggregate: DuckDB, Spark 3.4+ and Databricks have it (the interpolated
    median, same as quantile_cont(value, 0.5)).
-#}
{% macro default__rolling_median(value, frame) -%}
    median({{ value }}) over ({{ frame }})
{%- endmacro %}

{#-
    Spark before 3.4 has no `median`; its exact `percentile(value, 0.5)` interpolates the same way and is
    allowed over a row frame on every Spark 3.x.
-#}
{% macro spark__rolling_median(value, frame) -%}
    percentile({{ value }}, 0.5) over ({{ frame }})
{%- endmacro %}

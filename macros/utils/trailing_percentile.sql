{#-
    Trailing percentile score, 0-100: the share of the ticker's last `window_rows` rows (today included)
    whose `value` is <= today's, x 100. NULL until the window holds `window_rows` non-NULL values, so a
    score never ranks against the whole sample or the future.
-#}
{% macro trailing_percentile(value, partition_by='ticker', order_by='trade_date', window_rows=252) %}
    {%- if window_rows | int < 2 -%}
        {{ exceptions.raise_compiler_error("trailing_percentile needs window_rows >= 2, got " ~ window_rows) }}
    {%- endif -%}
    {{ return(adapter.dispatch('trailing_percentile')(value, partition_by, order_by, window_rows | int)) }}
{% endmacro %}

{#- No portable SQL computes a rank inside a sliding frame in one expression; an engine needs its own. -#}
{% macro default__trailing_percentile(value, partition_by, order_by, window_rows) %}
    {{ exceptions.raise_compiler_error(
        "trailing_percentile has no implementation for adapter '" ~ adapter.type() ~ "': add "
        ~ adapter.type() ~ "__trailing_percentile in macros/utils/trailing_percentile.sql"
    ) }}
{% endmacro %}

{#- DuckDB ranks within a frame: cume_dist(order by value) over (... rows between n preceding ...). -#}
{% macro duckdb__trailing_percentile(value, partition_by, order_by, window_rows) %}
    case
        when count({{ value }}) over (
            partition by {{ partition_by }} order by {{ order_by }}
            rows between {{ window_rows - 1 }} preceding and current row
        ) = {{ window_rows }}
            then 100.0 * cume_dist(order by {{ value }}) over (
                partition by {{ partition_by }} order by {{ order_by }}
                rows between {{ window_rows - 1 }} preceding and current row
            )
    end
{% endmacro %}

{#-
    Spark ranks no rows inside a frame (its rank functions ignore frames): collect the frame's values and
    count those <= today's. The same share as DuckDB's cume_dist over the frame (ties count as <=).
-#}
{% macro spark__trailing_percentile(value, partition_by, order_by, window_rows) %}
    {%- set frame -%}
        partition by {{ partition_by }} order by {{ order_by }}
        rows between {{ window_rows - 1 }} preceding and current row
    {%- endset -%}
    case
        when count({{ value }}) over ({{ frame }}) = {{ window_rows }}
            then 100 * (
                cast(size(filter(collect_list({{ value }}) over ({{ frame }}), x -> x <= {{ value }})) as double)
                / {{ window_rows }}
            )
    end
{% endmacro %}

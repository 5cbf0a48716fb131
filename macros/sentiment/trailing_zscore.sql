{#-
    z-score of today's `value` against the previous `window_rows` rows of the partition (today left out,
    as in volume_z_20, so a spike is not damped by its own weight in the baseline): (value - mean) /
    sample std dev of the non-NULL values in those rows. NULL when today's value is NULL, when the
    window holds fewer than two values, or when their std dev is 0. The caller adds any warm-up rule.
-#}
{% macro trailing_zscore(value, window_rows, partition_by='ticker', order_by='trade_date') %}
    {%- if value is not string or value | trim == '' -%}
        {{ exceptions.raise_compiler_error("trailing_zscore needs `value`: a SQL expression, e.g. 'article_count'") }}
    {%- endif -%}
    {%- if window_rows is not number or window_rows < 2 -%}
        {{ exceptions.raise_compiler_error(
            "trailing_zscore needs `window_rows`: an integer >= 2 (rows before today), got " ~ window_rows
        ) }}
    {%- endif -%}
    {%- set frame -%}
        partition by {{ partition_by }} order by {{ order_by }}
        rows between {{ window_rows | int }} preceding and 1 preceding
    {%- endset -%}
    {{ safe_divide(
        value ~ ' - avg(' ~ value ~ ') over (' ~ frame ~ ')',
        'stddev_samp(' ~ value ~ ') over (' ~ frame ~ ')'
    ) }}
{% endmacro %}

{#-
    The gap rule, the one place it is written: true when a forward window from `start_date` to
    `end_date` (the date of the row `horizon` rows ahead) spans more calendar days than
    label_max_calendar_days(horizon) allows, i.e. it reaches across a gap in the ticker's prices (a
    halt, a delisting and relisting, missing data) rather than over `horizon` trading days. fct_labels
    and the signal edge's forward return are NULL on such windows. NULL when `end_date` is NULL.
    dbt.datediff renders each engine's own day difference.
-#}
{% macro forward_window_spans_gap(start_date, end_date, horizon) %}
    {%- if horizon is not number or horizon < 1 -%}
        {{ exceptions.raise_compiler_error(
            "forward_window_spans_gap needs `horizon`: the window's length in rows (>= 1), got " ~ horizon
        ) }}
    {%- endif -%}
    ({{ dbt.datediff(start_date, end_date, 'day') }} > {{ label_max_calendar_days(horizon) }})
{% endmacro %}

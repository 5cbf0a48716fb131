{#-
    The longest a forward window may span in calendar days before its return is void (NULL): var
    `label_max_calendar_days` (dbt_project.yml) for the label horizon, validated. For another horizon
    (the signal edge's signal_edge_horizon) the limit moves by the normal calendar length of the extra
    rows, 7 days per 5 trading rows, rounded up, so a 10-row window is not voided for being 10 rows long.
    A bad value fails at compile time with a message saying what to pass.
-#}
{% macro label_max_calendar_days(horizon=none) %}
    {%- set max_days = var('label_max_calendar_days', none) -%}
    {%- if max_days is none or max_days is sameas true or max_days is sameas false
        or max_days is not number or max_days != max_days | int or max_days < label_horizon_days() -%}
        {{ exceptions.raise_compiler_error(
            "var label_max_calendar_days must be a whole number of calendar days >= label_horizon_days (the "
            ~ "longest span of a label window: set it under vars in dbt_project.yml or pass e.g. --vars "
            ~ "'{label_max_calendar_days: 14}'), got " ~ max_days
        ) }}
    {%- endif -%}
    {%- set extra_rows = (horizon if horizon is not none else label_horizon_days()) - label_horizon_days() -%}
    {%- set extra_days = (7 * extra_rows / 5) | round(0, 'ceil') | int -%}
    {{ return(max_days | int + extra_days) }}
{% endmacro %}

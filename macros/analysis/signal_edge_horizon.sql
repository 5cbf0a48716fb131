{#-
    The signal edge's forward horizon in rows: var `signal_edge_horizon` when given (e.g.
    --vars '{signal_edge_horizon: 10}'), else the label horizon (label_horizon_days), so that by default
    the edge is measured on the same forward return as fct_labels.fwd_ret_5d. Validated at compile time.
-#}
{% macro signal_edge_horizon() %}
    {%- set horizon = var('signal_edge_horizon', label_horizon_days()) -%}
    {%- if horizon is sameas true or horizon is sameas false
        or horizon is not number or horizon < 1 or horizon != horizon | int -%}
        {{ exceptions.raise_compiler_error(
            "var signal_edge_horizon must be a whole number of days >= 1, got " ~ horizon
        ) }}
    {%- endif -%}
    {{ return(horizon | int) }}
{% endmacro %}

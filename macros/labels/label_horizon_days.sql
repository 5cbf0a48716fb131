{#-
    The label horizon: var `label_horizon_days` (dbt_project.yml), validated. fct_labels looks this many
    trading rows ahead and recomputes this many rows before each new one on an incremental build;
    dim_labels publishes it for Python; the signal edge uses it unless var signal_edge_horizon is given.
    A bad value fails at compile time (at parse already) with a message saying what to pass.
-#}
{% macro label_horizon_days() %}
    {%- set horizon = var('label_horizon_days', none) -%}
    {#- A YAML true/false is a number to Jinja (bool is an int): reject it explicitly. -#}
    {%- if horizon is none or horizon is sameas true or horizon is sameas false
        or horizon is not number or horizon < 1 or horizon != horizon | int -%}
        {{ exceptions.raise_compiler_error(
            "var label_horizon_days must be a whole number of trading days >= 1 (the label horizon: set it "
            ~ "under vars in dbt_project.yml or pass e.g. --vars '{label_horizon_days: 5}'), got " ~ horizon
        ) }}
    {%- endif -%}
    {{ return(horizon | int) }}
{% endmacro %}

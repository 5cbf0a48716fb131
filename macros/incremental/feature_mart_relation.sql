{#-
    The built feature mart (marts.fct_features_v1) when a build may be incremental, else none:
    none at parse time, with --full-refresh, or before the mart's first build. Looked up by name, not
    ref(): the mart is downstream of the models that ask, and a ref would be a cycle.
-#}
{% macro feature_mart_relation() %}
    {%- if not execute or flags.FULL_REFRESH -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(adapter.get_relation(database=target.database, schema='marts', identifier='fct_features_v1')) }}
{% endmacro %}

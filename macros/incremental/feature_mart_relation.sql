{#-
    The built feature mart (marts.fct_features_v1) when a build may be incremental, else none:
    none at parse time, with --full-refresh, on an engine without incremental builds, or before the mart's
    first build. Looked up by name, not
    ref(): the mart is downstream of the models that ask, and a ref would be a cycle.
-#}
{% macro feature_mart_relation() %}
    {%- if not execute or flags.FULL_REFRESH or not incremental_builds_supported() -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(adapter.get_relation(database=target.database, schema='marts', identifier='fct_features_v1')) }}
{% endmacro %}

{#-
    Whether the feature marts build incrementally (dbt_project.yml: materialized incremental, strategy
    delete+insert). Spark's Parquet tables cannot delete rows: there the marts are tables rebuilt in full,
    and so is every family (a build computes every row).
-#}
{% macro incremental_builds_supported() %}
    {{ return(adapter.dispatch('incremental_builds_supported')()) }}
{% endmacro %}

{% macro default__incremental_builds_supported() %}
    {{ return(true) }}
{% endmacro %}

{% macro spark__incremental_builds_supported() %}
    {{ return(false) }}
{% endmacro %}

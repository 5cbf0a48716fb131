{#-
    Use a model's custom schema as it is (`staging`, `marts`, `seeds`) rather than dbt's default
    `<target schema>_<custom schema>`, so users query `marts.dim_tickers` whatever the target.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}

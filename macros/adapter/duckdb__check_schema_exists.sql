{#- dbt-duckdb 1.11's check_schema_exists with the names escaped (see duckdb__list_schemas for why). -#}
{% macro duckdb__check_schema_exists(information_schema, schema) -%}
    {% set sql -%}
        select count(*)
        from system.information_schema.schemata
        where
            lower(schema_name) = '{{ adapter.escape_sql_string(schema | lower) }}'
            and lower(catalog_name) = '{{ adapter.escape_sql_string(information_schema.database | lower) }}'
    {%- endset %}
    {{ return(run_query(sql)) }}
{% endmacro %}

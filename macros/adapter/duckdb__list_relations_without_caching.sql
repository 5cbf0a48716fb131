{#- dbt-duckdb 1.11's list_relations_without_caching with the names escaped (see duckdb__list_schemas for why). -#}
{% macro duckdb__list_relations_without_caching(schema_relation) %}
    {% call statement('list_relations_without_caching', fetch_result=True) -%}
        select
            '{{ adapter.escape_sql_string(schema_relation.database) }}' as database,
            table_name as name,
            table_schema as schema,
            case table_type
                when 'BASE TABLE' then 'table'
                when 'VIEW' then 'view'
                when 'LOCAL TEMPORARY' then 'table'
            end as type
        from system.information_schema.tables
        where
            lower(table_schema) = '{{ adapter.escape_sql_string(schema_relation.schema | lower) }}'
            and lower(table_catalog) = '{{ adapter.escape_sql_string(schema_relation.database | lower) }}'
    {% endcall %}
    {{ return(load_result('list_relations_without_caching').table) }}
{% endmacro %}

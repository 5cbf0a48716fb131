{#-
    dbt-duckdb 1.11's drop_indexes_on_relation with the names escaped in the lookup (see
    duckdb__list_schemas for why); the adapter's materializations call it by name, and the root
    project's macro of the same name is found first.
-#}
{% macro drop_indexes_on_relation(relation) -%}
    {% call statement('get_indexes_on_relation', fetch_result=True, auto_begin=False) %}
        select index_name
        from duckdb_indexes()
        where
            database_name = '{{ adapter.escape_sql_string(relation.database) }}'
            and schema_name = '{{ adapter.escape_sql_string(relation.schema) }}'
            and table_name = '{{ adapter.escape_sql_string(relation.identifier) }}'
    {% endcall %}
    {% set results = load_result('get_indexes_on_relation').table %}
    {% for row in results %}
        {% call statement('drop_index_' + loop.index | string, auto_begin=False) %}
            drop index {{ relation.without_identifier() }}.{{ adapter.quote(row[0]) }}
        {% endcall %}
    {% endfor %}
{%- endmacro %}

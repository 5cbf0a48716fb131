{#-
    dbt-duckdb 1.11's list_schemas with the database name escaped (adapter.escape_sql_string). The
    catalog of a DuckDB file is named after the file ("/data/o'neil.duckdb" -> o'neil) and dbt-duckdb
    writes that name into SQL string literals as is, so an apostrophe in the file name stopped every
    build before any model ran ("unterminated quoted identifier"). Only the escaping differs from the
    adapter's macro; the root project's macros come first in adapter.dispatch(..., 'dbt').
-#}
{% macro duckdb__list_schemas(database) -%}
    {% set sql %}
        select schema_name
        from system.information_schema.schemata
        {% if database is not none %}
            where lower(catalog_name) = '{{ adapter.escape_sql_string(database | lower) }}'
        {% endif %}
    {% endset %}
    {{ return(run_query(sql)) }}
{% endmacro %}

{#-
    on-run-start (dbt_project.yml): make the raw datasets readable as `raw.<dataset>`, where source('raw', ...)
    points. DuckDB holds them in the database file: nothing to do. Spark reads the Parquet files `python -m
    ingest export` writes (store/parquet.py: one folder per dataset, partitioned by year): each becomes a
    view over its folder, so a build always reads the files as they are now (a re-export needs no refresh).
    The folder is $FEATURE_STORE_PARQUET, else warehouse/parquet (relative to where dbt runs), as for the
    export. The datasets are store.tables.RAW_DATASETS (a test checks that the lists agree).
-#}
{% macro register_raw_parquet() %}
    {{ return(adapter.dispatch('register_raw_parquet')()) }}
{% endmacro %}

{% macro raw_parquet_datasets() %}
    {{ return(['prices', 'sentiment', 'earnings', 'analyst_actions', 'insider_trades']) }}
{% endmacro %}

{% macro default__register_raw_parquet() %}
{% endmacro %}

{% macro spark__register_raw_parquet() %}
    {%- if execute -%}
        {%- set folder = env_var('FEATURE_STORE_PARQUET', 'warehouse/parquet') | replace('`', '') -%}
        {%- do run_query('create database if not exists raw') -%}
        {%- for dataset in raw_parquet_datasets() -%}
            {%- do run_query(
                'create or replace view raw.' ~ dataset ~ ' as select * from parquet.`' ~ folder ~ '/' ~ dataset ~ '`'
            ) -%}
        {%- endfor -%}
    {%- endif -%}
{% endmacro %}

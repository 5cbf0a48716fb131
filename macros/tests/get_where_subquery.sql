{#-
    dbt's `where` config of data tests, with one placeholder: `__rows_this_build__` becomes a condition on
    `trade_date` that keeps the rows the latest build of the feature marts wrote: the trade dates from the
    first new price row of any ticker (int_prices__refresh_window.first_new_date), less
    label_max_calendar_days + 1 calendar days, the furthest back a build rewrites labels (fct_labels
    recomputes the h rows before each new one). A first build or `--full-refresh` wrote every row, so its
    tests read every row; a build with nothing new, none. dbt_project.yml sets it on the generic tests of
    models/marts/features/, whose marts are incremental: a daily build tests the rows it wrote, not years
    of rows earlier builds tested. Otherwise dbt's own behaviour (macro default__get_where_subquery).
-#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where and '__rows_this_build__' in where -%}
        {%- set where = where | replace('__rows_this_build__', rows_this_build_condition()) -%}
    {%- endif -%}
    {%- if where -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ where ~ ') dbt_subquery') -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}

{% macro rows_this_build_condition() -%}
    {%- set window = adapter.get_relation(
        database=target.database, schema='intermediate', identifier='int_prices__refresh_window'
    ) -%}
    {%- if window is none -%}
        {{- return('true') -}}
    {%- endif -%}
    {%- set first_new -%}
        (select min(first_new_date) from {{ window }})
    {%- endset -%}
    {{- return('trade_date >= ' ~ dbt.dateadd('day', -(label_max_calendar_days() + 1), first_new)) -}}
{%- endmacro %}

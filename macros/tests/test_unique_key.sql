{#- Generic data test: no two rows share the same values of `columns` (the model's grain). -#}
{% macro test_unique_key(model, columns) %}
{%- if columns is string or columns is not iterable or columns | length == 0 -%}
    {{ exceptions.raise_compiler_error("unique_key needs `columns`, a list of column names: [ticker, trade_date]") }}
{%- endif %}
    select
        {{ columns | join(', ') }},
        count(*) as copies
    from {{ model }}
    group by {{ columns | join(', ') }}
    having count(*) > 1
{% endmacro %}

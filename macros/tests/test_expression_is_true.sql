{#- Generic data test: every row satisfies the boolean SQL `expression` (failing rows are returned). -#}
{% macro test_expression_is_true(model, expression) %}
{%- if expression is not string or expression | trim == '' -%}
    {{ exceptions.raise_compiler_error("expression_is_true needs `expression`: a boolean SQL string") }}
{%- endif %}
    select *
    from {{ model }}
    where not ({{ expression }})
{% endmacro %}

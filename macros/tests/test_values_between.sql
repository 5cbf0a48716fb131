{#-
    Generic data test on a column: non-NULL values lie in [min_value, max_value] (either bound may be
    omitted). NULLs pass: use not_null for those.
-#}
{% macro test_values_between(model, column_name, min_value=none, max_value=none) %}
{%- if min_value is none and max_value is none -%}
    {{ exceptions.raise_compiler_error("values_between needs min_value, max_value or both") }}
{%- endif %}
{%- set outside = [] -%}
{%- if min_value is not none %}{% do outside.append(column_name ~ ' < ' ~ min_value) %}{% endif -%}
{%- if max_value is not none %}{% do outside.append(column_name ~ ' > ' ~ max_value) %}{% endif %}
    select {{ column_name }}
    from {{ model }}
    where {{ column_name }} is not null and ({{ outside | join(' or ') }})
{% endmacro %}

{#-
    numerator / denominator, NULL when the denominator is zero or NULL.
    DuckDB returns inf/NaN for float division by zero (Spark returns NULL), so every ratio goes
    through this macro to give NULL on both engines.
-#}
{% macro safe_divide(numerator, denominator) -%}
    ({{ numerator }}) / nullif({{ denominator }}, 0)
{%- endmacro %}

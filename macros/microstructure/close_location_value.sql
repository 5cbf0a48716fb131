{#-
    Close location value: where the close sits in the day's range, from -1 (at the low) to +1 (at the
    high). ((close - low) - (high - close)) / (high - low), NULL when high = low (a flat bar has no
    location; division by zero is NULL by the feature contract). The A/D line substitutes 0 there, as
    TA-Lib does: see accumulation_distribution_step.
-#}
{% macro close_location_value(close, high, low) %}
    {%- for name, argument in {'close': close, 'high': high, 'low': low}.items() -%}
        {%- if argument is not string or argument | trim == '' -%}
            {{ exceptions.raise_compiler_error(
                "close_location_value needs `" ~ name ~ "`: a SQL expression string such as '" ~ name
                ~ "', got " ~ argument
            ) }}
        {%- endif -%}
    {%- endfor -%}
    ((({{ close }}) - ({{ low }})) - (({{ high }}) - ({{ close }}))) / nullif(({{ high }}) - ({{ low }}), 0)
{%- endmacro %}

{#-
    One row's increment of the Chaikin accumulation/distribution line, as TA-Lib AD computes it:
    close location value x volume, with 0 (not NULL) when high = low, so the running sum never stops.
-#}
{% macro accumulation_distribution_step(close, high, low, volume) %}
    {%- for name, argument in {'close': close, 'high': high, 'low': low, 'volume': volume}.items() -%}
        {%- if argument is not string or argument | trim == '' -%}
            {{ exceptions.raise_compiler_error(
                "accumulation_distribution_step needs `" ~ name ~ "`: a SQL expression string such as '"
                ~ name ~ "', got " ~ argument
            ) }}
        {%- endif -%}
    {%- endfor -%}
    coalesce({{ close_location_value(close, high, low) }}, 0) * ({{ volume }})
{%- endmacro %}

{#-
    One row's increment of the smart money index proxy: the intraday move minus the overnight move,
    (close - open) - (open - prev_close), in adjusted price units. NULL on a series' first row (no
    previous close). The idea: the open is driven by retail order flow, the close by informed traders.
-#}
{% macro smart_money_step(open, close, prev_close) %}
    {%- for name, argument in {'open': open, 'close': close, 'prev_close': prev_close}.items() -%}
        {%- if argument is not string or argument | trim == '' -%}
            {{ exceptions.raise_compiler_error(
                "smart_money_step needs `" ~ name ~ "`: a SQL expression string such as '" ~ name
                ~ "', got " ~ argument
            ) }}
        {%- endif -%}
    {%- endfor -%}
    (({{ close }}) - ({{ open }})) - (({{ open }}) - ({{ prev_close }}))
{%- endmacro %}

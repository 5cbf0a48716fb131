{#-
    One row's increment of on-balance volume, as TA-Lib OBV computes it: the first row of the series
    (no previous close) adds its whole volume, later rows add the volume when the close rose, subtract
    it when the close fell and add 0 when it is unchanged.
-#}
{% macro on_balance_volume_step(close, prev_close, volume) %}
    {%- for name, argument in {'close': close, 'prev_close': prev_close, 'volume': volume}.items() -%}
        {%- if argument is not string or argument | trim == '' -%}
            {{ exceptions.raise_compiler_error(
                "on_balance_volume_step needs `" ~ name ~ "`: a SQL expression string such as '" ~ name
                ~ "', got " ~ argument
            ) }}
        {%- endif -%}
    {%- endfor -%}
    case
        when ({{ prev_close }}) is null then ({{ volume }})
        when ({{ close }}) > ({{ prev_close }}) then ({{ volume }})
        when ({{ close }}) < ({{ prev_close }}) then -({{ volume }})
        else 0
    end
{%- endmacro %}

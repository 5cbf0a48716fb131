{#-
    One row's contribution to the institutional flow index (IFI): on a heavy-volume day (volume strictly
    above `volume_baseline`, its trailing median) the day's money flow (close location value x volume, the
    A/D line's step); 0 on the other days; NULL while the baseline is still NULL (warm-up), so the IFI's
    window can tell a quiet day from a day without history.
-#}
{% macro heavy_volume_flow(money_flow, volume, volume_baseline) %}
    {%- for name, argument in {
        'money_flow': money_flow, 'volume': volume, 'volume_baseline': volume_baseline
    }.items() -%}
        {%- if argument is not string or argument | trim == '' -%}
            {{ exceptions.raise_compiler_error(
                "heavy_volume_flow needs `" ~ name ~ "`: a SQL expression string, got " ~ argument
            ) }}
        {%- endif -%}
    {%- endfor -%}
    case
        when ({{ volume_baseline }}) is null then null
        when ({{ volume }}) > ({{ volume_baseline }}) then ({{ money_flow }})
        else 0
    end
{%- endmacro %}

{#-
    How many rows before the first new row an incremental build of the technical family must read.
    exponential_smoothing restarts each epoch of `epoch_rows` rows `warmup_rows` rows early, and the family
    smooths twice (ADX smooths DX, the MACD signal smooths MACD, both outputs of the first pass), so a
    new row in epoch e needs the second pass's restart row (in epoch e-1), whose first-pass values need
    epoch e-1's restart row: row 1 for e <= 1, else (e-1) x epoch_rows - warmup_rows + 1.
    SQL expression over `first_new_row` (a column or expression); at most 2 x epoch_rows + warmup_rows.
-#}
{% macro technical_lookback_rows(first_new_row, epoch_rows=1000, warmup_rows=400) %}
    {%- set epoch = "floor((" ~ first_new_row ~ " - 1) / " ~ epoch_rows ~ ")" -%}
    case
        when {{ epoch }} <= 1 then {{ first_new_row }}
        else {{ first_new_row }} - (({{ epoch }} - 1) * {{ epoch_rows }} - {{ warmup_rows - 1 }}) + 1
    end
{% endmacro %}

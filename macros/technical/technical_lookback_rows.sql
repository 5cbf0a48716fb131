{#-
    How many rows before the first new row an incremental build of the technical family must read.
    exponential_smoothing restarts each epoch of `epoch_rows` rows `warmup_rows` rows early, and the family
    smooths twice (ADX smooths DX, the MACD signal smooths MACD, both outputs of the first pass), so a
    new row in epoch e needs the second pass's restart row (in epoch e-1), whose first-pass values need
    epoch e-1's restart row, R = (e-1) x epoch_rows - warmup_rows + 1. The first pass's input on R must be
    right too: +DM and -DM are moves from the previous bar, taken with lag() over the rows read, so row
    R - 1 is read as well (from R on, +DM, -DM and hence DX would be NULL for the whole of epoch e-1, and
    ADX's second pass would smooth 0s through its warm-up instead). Read from row 1 for e <= 1, else from
    R - 1 = (e-1) x epoch_rows - warmup_rows.
    SQL expression over `first_new_row` (a column or expression); at most 2 x epoch_rows + warmup_rows + 1.
-#}
{% macro technical_lookback_rows(first_new_row, epoch_rows=1000, warmup_rows=400) %}
    {%- set epoch = "floor((" ~ first_new_row ~ " - 1) / " ~ epoch_rows ~ ")" -%}
    case
        when {{ epoch }} <= 1 then {{ first_new_row }}
        else {{ first_new_row }} - (({{ epoch }} - 1) * {{ epoch_rows }} - {{ warmup_rows }}) + 1
    end
{% endmacro %}

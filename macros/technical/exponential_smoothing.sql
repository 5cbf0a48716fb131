{#-
    Exponential smoothing (EMA, Wilder smoothing) of one or more series in closed form, without a
    recursive CTE and without list lambdas, so that an engine with only window functions can run it.

    The recursion s_t = (1 - a) * s_(t-1) + a * x_t started at s_S = start on row S has the closed form
        s_t = (1 - a)^j_t * [start + a * sum over k in (S, t] of (1 - a)^(-j_k) * x_k]
    with j the number of inputs since row S: one running window sum. (1 - a)^(-j) grows without bound,
    so the rows are cut into epochs of `epoch_rows` rows (epoch e holds rows e*B+1 to (e+1)*B) and the
    sum restarts in each, in a window partition (partition_by, epoch):
    - epoch 0 starts on the series' `seed_row` from its `seed` (the reference implementation's own
      start, so values match it from its first row, not only after the seed has decayed);
    - epoch e >= 1 starts `warmup_rows` rows before its first row from the input there; those warm-up
      rows are computed again in this epoch's partition and then dropped. The start's weight after the
      warm-up is (1 - a)^warmup_rows, <= 1e-12 (checked at compile time), and j stays below
      epoch_rows + warmup_rows, so (1 - a)^(-j) stays finite (checked too).
    Each row is computed in at most two partitions and kept from its own epoch only, so a ticker of 300
    rows and one of 30,000 get the same numbers. All series of one call share one partitioning (one
    sort), so smooth every series that needs no other smoothing's output in one call.

    Inputs and seeds are expected non-NULL from the seed row on. A NULL is not skipped or read as 0: it
    makes the series NULL from that row to the end of every partition that holds the row (its own epoch,
    and the next one when the row lies in that one's warm-up). Coalesce the input where a NULL has a
    meaning.

    Renders three CTEs, `<name>__members`, `<name>__sums` and `<name>`; the last has
    the columns partition_by, row_column and one per series (NULL before the series' seed_row), for the
    rows from the smallest seed_row on. Put the call in the model's `with` list:

        {{ exponential_smoothing('close_emas', 'prices', [
            {'name': 'ema_12', 'value': 'close', 'alpha': 2 / 13, 'seed_row': 12, 'seed': 'sma_12'},
        ]) }},
-#}
{% macro exponential_smoothing(
    name,
    relation,
    series,
    partition_by='ticker',
    row_column='ticker_row',
    epoch_rows=1000,
    warmup_rows=400
) %}
    {%- set usage = " (usage: exponential_smoothing(name, relation, series=[{'name': ..., 'value': ..., "
        ~ "'alpha': 0 < number < 1, 'seed_row': integer >= 1, 'seed': ...}, ...]))" -%}
    {%- if name is not string or name | trim == '' or relation is not string or relation | trim == '' -%}
        {{ exceptions.raise_compiler_error("exponential_smoothing needs `name` (the CTE to create) and `relation` "
            ~ "(the CTE or relation to read) as strings" ~ usage) }}
    {%- endif -%}
    {%- if series is string or series is mapping or series is not iterable or series | length == 0 -%}
        {{ exceptions.raise_compiler_error("exponential_smoothing(" ~ name ~ ") needs `series`, a non-empty list "
            ~ "of mappings" ~ usage) }}
    {%- endif -%}
    {%- if epoch_rows is not integer or warmup_rows is not integer or warmup_rows < 1
        or warmup_rows >= epoch_rows -%}
        {{ exceptions.raise_compiler_error("exponential_smoothing(" ~ name ~ ") needs integers 1 <= warmup_rows "
            ~ "< epoch_rows, got epoch_rows=" ~ epoch_rows ~ ", warmup_rows=" ~ warmup_rows) }}
    {%- endif -%}
    {%- for item in series -%}
        {%- if item is not mapping or item.name is not string or item.value is not string
            or item.seed is not string or item.alpha is not number or item.seed_row is not integer -%}
            {{ exceptions.raise_compiler_error("exponential_smoothing(" ~ name ~ "): every series needs strings "
                ~ "`name`, `value`, `seed`, a number `alpha` and an integer `seed_row`, got " ~ item ~ usage) }}
        {%- endif -%}
        {%- if item.alpha <= 0 or item.alpha >= 1 -%}
            {{ exceptions.raise_compiler_error("exponential_smoothing(" ~ name ~ "): `alpha` of " ~ item.name
                ~ " must lie strictly between 0 and 1, got " ~ item.alpha) }}
        {%- endif -%}
        {%- if item.seed_row < 1 or item.seed_row > epoch_rows - warmup_rows + 1 -%}
            {{ exceptions.raise_compiler_error("exponential_smoothing(" ~ name ~ "): `seed_row` of " ~ item.name
                ~ " must lie in [1, epoch_rows - warmup_rows + 1 = " ~ (epoch_rows - warmup_rows + 1) ~ "], got "
                ~ item.seed_row) }}
        {%- endif -%}
        {%- if (1 - item.alpha) ** warmup_rows > 1e-12 -%}
            {{ exceptions.raise_compiler_error("exponential_smoothing(" ~ name ~ "): with alpha " ~ item.alpha
                ~ " a restarted epoch's start still weighs " ~ (1 - item.alpha) ** warmup_rows ~ " after "
                ~ warmup_rows ~ " rows; pass a larger warmup_rows (the weight must be <= 1e-12)") }}
        {%- endif -%}
        {%- if (1 - item.alpha) ** (epoch_rows + warmup_rows) < 1e-250 -%}
            {{ exceptions.raise_compiler_error("exponential_smoothing(" ~ name ~ "): with alpha " ~ item.alpha
                ~ ", (1 - alpha)^-(epoch_rows + warmup_rows) would overflow a double; pass a smaller epoch_rows") }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(adapter.dispatch('exponential_smoothing')(
        name, relation, series, partition_by, row_column, epoch_rows, warmup_rows
    )) }}
{% endmacro %}

{#-
    Portable SQL (a union, running window sums, power()): every engine can use it as it is. The float
    literals are cast to double so that no engine reads them as exact decimals.
-#}
{% macro default__exponential_smoothing(name, relation, series, partition_by, row_column, epoch_rows, warmup_rows) %}
    {%- set first_row = series | map(attribute='seed_row') | min -%}
    {%- set home_epoch = "cast(floor((" ~ row_column ~ " - 1) / " ~ epoch_rows ~ ") as integer)" -%}
    {%- set running = "partition by " ~ partition_by ~ ", epoch order by " ~ row_column
        ~ " rows between unbounded preceding and current row" %}
{{ name }}__members as (
    -- Each row in its own epoch; the last warmup_rows rows of an epoch again as the next epoch's
    -- warm-up. <series>__anchor is the row where the series' sum starts in that epoch (its seed_row in
    -- epoch 0, else the first warm-up row), <series>__start its value there (the seed in epoch 0).
    select
        {{ partition_by }},
        {{ row_column }},
        {%- for item in series %}
        {{ item.value }} as {{ item.name }}__input,
        case when {{ home_epoch }} = 0 then {{ item.seed }} else {{ item.value }} end as {{ item.name }}__start,
        case
            when {{ home_epoch }} = 0 then {{ item.seed_row }}
            else {{ home_epoch }} * {{ epoch_rows }} - {{ warmup_rows - 1 }}
        end as {{ item.name }}__anchor,
        {%- endfor %}
        {{ home_epoch }} as home_epoch,
        {{ home_epoch }} as epoch
    from {{ relation }}
    where {{ row_column }} >= {{ first_row }}

    union all

    select
        {{ partition_by }},
        {{ row_column }},
        {%- for item in series %}
        {{ item.value }} as {{ item.name }}__input,
        {{ item.value }} as {{ item.name }}__start,
        ({{ home_epoch }} + 1) * {{ epoch_rows }} - {{ warmup_rows - 1 }} as {{ item.name }}__anchor,
        {%- endfor %}
        {{ home_epoch }} as home_epoch,
        {{ home_epoch }} + 1 as epoch
    from {{ relation }}
    where
        {{ row_column }} >= {{ first_row }}
        and {{ row_column }} - {{ home_epoch }} * {{ epoch_rows }} > {{ epoch_rows - warmup_rows }}
),

{{ name }}__sums as (
    -- s_t = (1 - a)^j_t * (start + a * running sum of (1 - a)^-j_k * x_k), j = rows since the anchor;
    -- NULL before the anchor row. A NULL start or input enters the sum as NaN, which every later sum of
    -- the partition carries (IEEE arithmetic, the same on every engine), and comes out as NULL: a NULL
    -- never turns silently into a 0.
    select
        {{ partition_by }},
        {{ row_column }},
        home_epoch,
        epoch,
        {%- for item in series %}
        {%- set decay = "cast(" ~ (1 - item.alpha) ~ " as double)" %}
        {%- set growth = "cast(" ~ (1 / (1 - item.alpha)) ~ " as double)" %}
        {%- set exponent = "(" ~ row_column ~ " - " ~ item.name ~ "__anchor)" %}
        sum(
            case
                when {{ row_column }} = {{ item.name }}__anchor
                    then coalesce({{ item.name }}__start, cast('NaN' as double))
                when {{ row_column }} > {{ item.name }}__anchor
                    then cast({{ item.alpha }} as double) * coalesce({{ item.name }}__input, cast('NaN' as double))
                    * power({{ growth }}, {{ exponent }})
            end
        ) over ({{ running }}) * power({{ decay }}, {{ exponent }}) as {{ item.name }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ name }}__members
),

{{ name }} as (
    -- Each row from its own epoch only.
    select
        {{ partition_by }},
        {{ row_column }},
        {%- for item in series %}
        case when not isnan({{ item.name }}) then {{ item.name }} end as {{ item.name }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ name }}__sums
    where epoch = home_epoch
)
{%- endmacro %}

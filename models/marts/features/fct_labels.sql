-- Forward-return labels, one row per (ticker, trade_date). Labels look into the future by design, so
-- they live here and meet the features only in fct_training_examples, on rows where
-- label_known_date has passed. The horizon h is var label_horizon_days (dbt_project.yml; 5 in v1, which
-- the column names fwd_ret_5d / label_up_5d spell out). NULL while row t+h is not yet in the data, and
-- NULL for good when the window to row t+h spans more than var label_max_calendar_days calendar days (the
-- gap rule, macro forward_window_spans_gap: the ticker's prices have a gap there); such a row still gets
-- label_known_date, the day it became known that it has no label, so it is never recomputed.
-- Incremental: see `missing`.
{%- set horizon = label_horizon_days() %}

with prices as (
    select * from {{ ref('int_prices__sequenced') }}
),

forward as (
    select
        ticker,
        trade_date,
        close,
        lead(close, {{ horizon }}) over (partition by ticker order by ticker_row) as close_ahead,
        lead(trade_date, {{ horizon }}) over (partition by ticker order by ticker_row) as label_known_date
    from prices
),

-- The gap rule: no label over a window that spans a gap in the ticker's prices.
usable as (
    select
        ticker,
        trade_date,
        close,
        case
            when not {{ forward_window_spans_gap('trade_date', 'label_known_date', horizon) }} then close_ahead
        end as close_ahead,
        label_known_date
    from forward
),

-- The rows this build must write, from this mart's own state: every price row not yet here, and every
-- row here whose label was not yet known (label_known_date is NULL: row t+h had not arrived). A daily
-- build so rewrites the new day and the h rows before it; a build that stopped before this mart (killed,
-- or `-s +fct_features_v1`) is caught up by the next one, whatever the feature mart already holds.
-- The windows above run over every row, so a recomputed label equals a full build's.
missing as (
    select usable.*
    from usable
    {%- if is_incremental() %}
        left join {{ this }} as built
            on
                usable.ticker = built.ticker
                and usable.trade_date = built.trade_date
                and built.label_known_date is not null
        where built.ticker is null
    {%- endif %}
),

final as (
    select
        ticker,
        trade_date,
        {{ safe_divide('close_ahead', 'close') }} - 1 as fwd_ret_5d,
        case
            when close_ahead is null then null
            when close_ahead > close then 1
            else 0
        end as label_up_5d,
        label_known_date
    from missing
)

select * from final

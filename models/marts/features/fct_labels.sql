-- Forward-return labels, one row per (ticker, trade_date). Labels look into the future by design, so
-- they live here and meet the features only in fct_training_examples, on rows where
-- label_known_date has passed. The horizon h is var label_horizon_days (dbt_project.yml; 5 in v1, which
-- the column names fwd_ret_5d / label_up_5d spell out). NULL while row t+h is not yet in the data.
-- Incremental: see `changed`.
{%- set horizon = label_horizon_days() %}

with prices as (
    select * from {{ ref('int_prices__sequenced') }}
),

refresh_window as (
    select * from {{ ref('int_prices__refresh_window') }}
),

forward as (
    select
        ticker,
        trade_date,
        close,
        lead(close, {{ horizon }}) over (partition by ticker order by ticker_row) as close_ahead,
        lead(trade_date, {{ horizon }}) over (partition by ticker order by ticker_row) as label_known_date,
        ticker_row
    from prices
),

-- A new day completes the labels of the h rows before it: those are recomputed with the new rows.
changed as (
    select forward.*
    from forward
    inner join refresh_window
        on
            forward.ticker = refresh_window.ticker
            and forward.ticker_row >= refresh_window.first_new_row - {{ horizon }}
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
    from changed
)

select * from final

-- Forward-return labels, one row per (ticker, trade_date). Labels look into the future by design, so
-- they live here and meet the features only in fct_training_examples, on rows where
-- label_known_date has passed. NULL while t+5 is not yet in the data.
with prices as (
    select * from {{ ref('int_prices__sequenced') }}
),

forward as (
    select
        ticker,
        trade_date,
        close,
        lead(close, 5) over (partition by ticker order by ticker_row) as close_5d_ahead,
        lead(trade_date, 5) over (partition by ticker order by ticker_row) as label_known_date
    from prices
),

final as (
    select
        ticker,
        trade_date,
        {{ safe_divide('close_5d_ahead', 'close') }} - 1 as fwd_ret_5d,
        case
            when close_5d_ahead is null then null
            when close_5d_ahead > close then 1
            else 0
        end as label_up_5d,
        label_known_date
    from forward
)

select * from final

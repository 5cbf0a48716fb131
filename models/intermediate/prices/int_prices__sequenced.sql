-- Adjusted daily bars of tradeable tickers numbered per ticker (ticker_row = 1, 2, ... by date), with
-- the previous row's close and the 1-day returns every feature family starts from. Windows count
-- these rows, not calendar days. Cross-asset inputs (^VIX, ^TNX, BTC-USD, other indices) are left
-- out here: they enter the features only through the cross-asset family, as of the previous day.
with prices as (
    select * from {{ ref('stg_raw__prices') }}
),

tickers as (
    select * from {{ ref('int_tickers__universe') }}
),

tradeable as (
    select prices.*
    from prices
    left join tickers on prices.ticker = tickers.ticker
    where
        coalesce(tickers.asset_class, 'equity') in ('equity', 'etf')
        and prices.ticker not like '^%'
),

sequenced as (
    select
        ticker,
        trade_date,
        row_number() over (partition by ticker order by trade_date) as ticker_row,
        open,
        high,
        low,
        close,
        volume,
        dollar_volume,
        lag(close) over (partition by ticker order by trade_date) as prev_close
    from tradeable
),

final as (
    select
        *,
        {{ safe_divide('close', 'prev_close') }} - 1 as ret_1d,
        ln({{ safe_divide('close', 'prev_close') }}) as log_ret_1d
    from sequenced
)

select * from final

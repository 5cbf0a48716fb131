-- Which rows a build must compute: per ticker, the first row (ticker_row) that is not yet in the
-- feature mart. On a first build or with --full-refresh that is row 1 for every ticker; on a daily
-- build it is the new day's row, and each feature family reads back only its lookback window from there
-- (see the refresh_* macros). A ticker with nothing new gets first_new_row = its last row + 1.
{%- set existing = feature_mart_relation() %}

with prices as (
    select * from {{ ref('int_prices__sequenced') }}
),

-- The rows already built: none on a first build or with --full-refresh.
built as (
    select
        ticker,
        trade_date
    from {{ existing if existing is not none else ref('int_prices__sequenced') }}
    where {{ 'true' if existing is not none else 'false' }}
),

new_rows as (
    select
        prices.ticker,
        prices.ticker_row,
        prices.trade_date
    from prices
    left join built
        on prices.ticker = built.ticker and prices.trade_date = built.trade_date
    where built.ticker is null
),

first_new as (
    select
        ticker,
        min(ticker_row) as first_new_row,
        min(trade_date) as first_new_date
    from new_rows
    group by ticker
),

last_rows as (
    select
        ticker,
        max(ticker_row) as last_row
    from prices
    group by ticker
),

final as (
    select
        last_rows.ticker,
        coalesce(first_new.first_new_row, last_rows.last_row + 1) as first_new_row,
        first_new.first_new_date,
        last_rows.last_row
    from last_rows
    left join first_new on last_rows.ticker = first_new.ticker
)

select * from final

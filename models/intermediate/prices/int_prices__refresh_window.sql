-- Which rows a build must compute: per ticker, the first row (ticker_row) that is not yet in the
-- feature mart. On a first build or with --full-refresh that is row 1 for every ticker; on a daily
-- build it is the new day's row, and each feature family reads back only its lookback window from
-- there (see the refresh_* macros). A ticker with nothing new gets first_new_row = its last row + 1.
{%- set existing = feature_mart_relation() %}

with prices as (
    select * from {{ ref('int_prices__sequenced') }}
),

{% if existing is none %}

final as (
    select
        ticker,
        cast(1 as bigint) as first_new_row,
        min(trade_date) as first_new_date,
        max(ticker_row) as last_row
    from prices
    group by ticker
)

{% else %}

built as (
    select
        ticker,
        trade_date
    from {{ existing }}
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

final as (
    select
        prices.ticker,
        coalesce(min(new_rows.ticker_row), max(prices.ticker_row) + 1) as first_new_row,
        min(new_rows.trade_date) as first_new_date,
        max(prices.ticker_row) as last_row
    from prices
    left join new_rows on prices.ticker = new_rows.ticker
    group by prices.ticker
)

{% endif %}

select * from final

-- The market inputs of the cross-asset features, one row per (series_ticker, series_date): each series'
-- own dates (BTC-USD every calendar day, the others on their trading days), its level and the 1-, 5-
-- and 20-row changes and returns over its own rows, and the z-score of the level over 60 rows. The
-- returns are series_ret_*, not ret_*: those names belong to the ticker's own features (fct_features). Values
-- are as known at the close of series_date; int_features__cross_asset attaches them to a ticker's row
-- only from the next date on (as of T-1). A series that was not loaded simply has no rows here.
{%- set benchmarks = ['SPY', 'QQQ', 'IWM'] %}

with prices as (
    select * from {{ ref('stg_raw__prices') }}
),

tickers as (
    select * from {{ ref('int_tickers__universe') }}
),

-- Which series feed the features: the cross-asset roles of the universe seed (^VIX volatility, ^TNX
-- yield_10y, BTC-USD crypto), the broad benchmarks, and every sector ETF a ticker points to.
series_list as (
    select
        ticker as series_ticker,
        cross_asset_role as series_role
    from tickers
    where cross_asset_role is not null
    union
    select
        ticker as series_ticker,
        'benchmark' as series_role
    from tickers
    where ticker in ('{{ benchmarks | join("', '") }}')
    union
    select distinct
        sector_etf as series_ticker,
        'sector_etf' as series_role
    from tickers
    where sector_etf is not null
),

series_rows as (
    select
        series_list.series_ticker,
        series_list.series_role,
        prices.trade_date as series_date,
        prices.close as level,
        row_number() over (
            partition by series_list.series_ticker order by prices.trade_date
        ) as series_row,
        lag(prices.close, 1) over (partition by series_list.series_ticker order by prices.trade_date) as level_lag_1,
        lag(prices.close, 5) over (partition by series_list.series_ticker order by prices.trade_date) as level_lag_5,
        lag(prices.close, 20) over (partition by series_list.series_ticker order by prices.trade_date) as level_lag_20,
        avg(prices.close) over (
            partition by series_list.series_ticker order by prices.trade_date
            rows between 59 preceding and current row
        ) as level_mean_60,
        stddev_samp(prices.close) over (
            partition by series_list.series_ticker order by prices.trade_date
            rows between 59 preceding and current row
        ) as level_std_60
    from series_list
    inner join prices on series_list.series_ticker = prices.ticker
),

final as (
    select
        series_ticker,
        series_role,
        series_date,
        series_row,
        level,
        level - level_lag_1 as change_1d,
        level - level_lag_5 as change_5d,
        {{ safe_divide('level', 'level_lag_1') }} - 1 as series_ret_1d,
        {{ safe_divide('level', 'level_lag_5') }} - 1 as series_ret_5d,
        {{ safe_divide('level', 'level_lag_20') }} - 1 as series_ret_20d,
        case
            when series_row >= 60 then {{ safe_divide('level - level_mean_60', 'level_std_60') }}
        end as level_z_60
    from series_rows
)

select * from final

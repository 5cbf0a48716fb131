-- One row per ticker: the universe seeds (master watchlist, Alpha 76, cross-asset series) merged,
-- plus any ticker that has prices but is on no list (in_universe = false), with price coverage.
-- Where a ticker is on both lists the master watchlist's descriptive columns win.
with master as (
    select * from {{ ref('universe_master') }}
),

alpha as (
    select * from {{ ref('universe_alpha76') }}
),

cross_asset as (
    select * from {{ ref('cross_asset_series') }}
),

prices as (
    select * from {{ ref('stg_raw__prices') }}
),

coverage as (
    select
        ticker,
        min(trade_date) as first_trade_date,
        max(trade_date) as last_trade_date,
        count(*) as trading_days
    from prices
    group by ticker
),

listed as (
    select ticker from master
    union
    select ticker from alpha
    union
    select ticker from cross_asset
    union
    select ticker from coverage
),

final as (
    select
        listed.ticker,
        coalesce(master.name, alpha.name, cross_asset.name) as name,
        coalesce(master.asset_class, alpha.asset_class, cross_asset.asset_class) as asset_class,
        coalesce(master.sector, alpha.sector) as sector,
        coalesce(master.sector_etf, alpha.sector_etf) as sector_etf,
        coalesce(master.theme, alpha.theme) as theme,
        alpha.theme as alpha76_theme,
        master.category as watchlist_category,
        cross_asset.role as cross_asset_role,
        master.ticker is not null as in_master,
        alpha.ticker is not null as in_alpha76,
        coalesce(master.ticker, alpha.ticker, cross_asset.ticker) is not null as in_universe,
        coalesce(master.is_portfolio, false) as is_portfolio,
        coalesce(master.is_recently_sold, false) as is_recently_sold,
        coalesce(alpha.is_ark_held, false) as is_ark_held,
        coalesce(alpha.has_near_term_catalyst, false) as has_near_term_catalyst,
        coverage.first_trade_date,
        coverage.last_trade_date,
        coalesce(coverage.trading_days, 0) as trading_days
    from listed
    left join master on listed.ticker = master.ticker
    left join alpha on listed.ticker = alpha.ticker
    left join cross_asset on listed.ticker = cross_asset.ticker
    left join coverage on listed.ticker = coverage.ticker
)

select * from final

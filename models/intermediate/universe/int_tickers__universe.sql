-- The universe, one row per listed ticker: the master watchlist, the Alpha 76 list and the cross-asset
-- series (the seeds) merged, with their descriptive columns. Where a ticker is on both lists the master
-- watchlist's columns win. The models that need to know what a ticker is (tradeable or not, its sector ETF,
-- its cross-asset role) read this; marts.dim_tickers adds price coverage and the tickers on no list.
with master as (
    select * from {{ ref('universe_master') }}
),

alpha as (
    select * from {{ ref('universe_alpha76') }}
),

cross_asset as (
    select * from {{ ref('cross_asset_series') }}
),

listed as (
    select ticker from master
    union
    select ticker from alpha
    union
    select ticker from cross_asset
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
        coalesce(master.is_portfolio, false) as is_portfolio,
        coalesce(master.is_recently_sold, false) as is_recently_sold,
        coalesce(alpha.is_ark_held, false) as is_ark_held,
        coalesce(alpha.has_near_term_catalyst, false) as has_near_term_catalyst
    from listed
    left join master on listed.ticker = master.ticker
    left join alpha on listed.ticker = alpha.ticker
    left join cross_asset on listed.ticker = cross_asset.ticker
)

select * from final

-- One row per ticker: the universe (int_tickers__universe: the master watchlist, Alpha 76 and the
-- cross-asset series), plus any ticker that has prices but is on no list (in_universe = false), with
-- price coverage.
with universe as (
    select * from {{ ref('int_tickers__universe') }}
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
    select ticker from universe
    union
    select ticker from coverage
),

final as (
    select
        listed.ticker,
        universe.name,
        universe.asset_class,
        universe.sector,
        universe.sector_etf,
        universe.theme,
        universe.alpha76_theme,
        universe.watchlist_category,
        universe.cross_asset_role,
        coalesce(universe.in_master, false) as in_master,
        coalesce(universe.in_alpha76, false) as in_alpha76,
        universe.ticker is not null as in_universe,
        coalesce(universe.is_portfolio, false) as is_portfolio,
        coalesce(universe.is_recently_sold, false) as is_recently_sold,
        coalesce(universe.is_ark_held, false) as is_ark_held,
        coalesce(universe.has_near_term_catalyst, false) as has_near_term_catalyst,
        coverage.first_trade_date,
        coverage.last_trade_date,
        coalesce(coverage.trading_days, 0) as trading_days
    from listed
    left join universe on listed.ticker = universe.ticker
    left join coverage on listed.ticker = coverage.ticker
)

select * from final

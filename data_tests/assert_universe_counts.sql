-- The universe is 94 master + 76 Alpha 76 tickers, 15 on both: 155 unique. Returns a row when not.
with counts as (
    select
        count(*) filter (where in_master) as master_tickers,
        count(*) filter (where in_alpha76) as alpha76_tickers,
        count(*) filter (where in_master and in_alpha76) as on_both,
        count(*) filter (where in_master or in_alpha76) as unique_tickers
    from {{ ref('dim_tickers') }}
)

select * from counts
where
    master_tickers != 94
    or alpha76_tickers != 76
    or on_both != 15
    or unique_tickers != 155

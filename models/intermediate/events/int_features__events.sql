-- Research-event features (3) on the ticker's price rows. Events count only from the first date whose
-- close can know them:
--   earnings: stg_raw__earnings.available_date (the announcement day before the open, else the next day);
--   analyst actions and insider filings: the day after action_date / announce_date. The sources carry
--   no time of day and both are often published after the close, so, as for earnings of unknown
--   timing, the conservative choice: an action dated t counts from t + 1.
-- NULL vs 0: a count is NULL while its source has nothing available yet (no rows loaded at all, or t
-- before the source's first event), and 0 for a ticker with no event in the window once it has.
{%- set analyst_window_days = 30 %}
{%- set insider_window_days = 90 %}

with prices as (
    select * from {{ ref('int_prices__sequenced') }} as sequenced
    -- Incremental builds read back only the lookback (60-row mean dollar volume).
    where {{ refresh_input('sequenced', 80) }}
),

earnings as (
    select * from {{ ref('stg_raw__earnings') }}
),

analyst_actions as (
    select * from {{ ref('stg_raw__analyst_actions') }}
),

insider_trades as (
    select * from {{ ref('stg_raw__insider_trades') }}
),

ticker_rows as (
    select
        ticker,
        trade_date,
        case
            when count(dollar_volume) over last_60 = 60 then avg(dollar_volume) over last_60
        end as dollar_volume_mean_60
    from prices
    window last_60 as (partition by ticker order by trade_date rows between 59 preceding and current row)
),

-- Two announcements of a ticker can become available on the same date (an 'amc' one day, a 'bmo' the
-- next): the later announcement wins, so the as-of join has one row per (ticker, available_date).
surprises as (
    select
        ticker,
        available_date,
        surprise_pct
    from (
        select
            ticker,
            available_date,
            surprise_pct,
            row_number() over (partition by ticker, available_date order by announce_date desc) as announcement_rank
        from earnings
    ) as ranked
    where announcement_rank = 1
),

with_surprise as (
    {{ asof_before(
        'ticker_rows', 'surprises', {'surprise_pct': 'earnings_surprise_pct'},
        series_date='available_date', match_on=['ticker'], strict=false
    ) }}
),

analyst_available as (
    select
        ticker,
        cast({{ dbt.dateadd('day', 1, 'action_date') }} as date) as available_date,
        rating_direction
    from analyst_actions
),

insider_available as (
    select
        ticker,
        cast({{ dbt.dateadd('day', 1, 'announce_date') }} as date) as available_date,
        net_value
    from insider_trades
    where announce_date is not null
),

coverage as (
    select
        (select min(available_date) from analyst_available) as analyst_start,
        (select min(available_date) from insider_available) as insider_start
),

-- Sums over (t - 30 days, t] and (t - 90 days, t] of the available date.
analyst_windows as (
    {{ sum_events_in_window(
        'ticker_rows', 'analyst_available', 'rating_direction', analyst_window_days, alias='net_upgrades'
    ) }}
),

insider_windows as (
    {{ sum_events_in_window('ticker_rows', 'insider_available', 'net_value', insider_window_days, alias='net_value') }}
),

final as (
    select
        with_surprise.ticker,
        with_surprise.trade_date,
        with_surprise.earnings_surprise_pct,
        case
            when with_surprise.trade_date >= coverage.analyst_start
                then cast(coalesce(analyst_windows.net_upgrades, 0) as integer)
        end as analyst_net_upgrades_30d,
        case
            when with_surprise.trade_date >= coverage.insider_start
                then {{ safe_divide('coalesce(insider_windows.net_value, 0)', 'with_surprise.dollar_volume_mean_60') }}
        end as insider_net_buy_90d
    from with_surprise
    cross join coverage
    left join analyst_windows
        on
            with_surprise.ticker = analyst_windows.ticker
            and with_surprise.trade_date = analyst_windows.trade_date
    left join insider_windows
        on
            with_surprise.ticker = insider_windows.ticker
            and with_surprise.trade_date = insider_windows.trade_date
)

select * from final
where {{ refresh_output('final') }}

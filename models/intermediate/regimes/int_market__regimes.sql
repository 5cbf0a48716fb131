-- The market regime of each trading date, from information strictly before that date (T-1):
--   trend_state: 0 bull (SPY close above its SMA50 and SMA200), 2 bear (below both), 1 otherwise;
--   vol_state:   VIX close 0 below 15, 1 from 15 to 20, 2 from 20 to 30, 3 at 30 or above; without
--                VIX, SPY's volatility_20d x 100 with the same cut points;
--   regime_id:   trend_state * 4 + vol_state (0..11).
-- Each calendar date takes the latest SPY / ^VIX row dated before it (asof_before), and none when that
-- row is more than 7 calendar days old: a series that stopped is missing, not frozen.
with prices as (
    select * from {{ ref('stg_raw__prices') }}
),

calendar as (
    select distinct trade_date from {{ ref('int_prices__sequenced') }}
),

spy as (
    select
        trade_date,
        close,
        avg(close) over (order by trade_date rows between 49 preceding and current row) as sma_50,
        avg(close) over (order by trade_date rows between 199 preceding and current row) as sma_200,
        count(*) over (order by trade_date rows between 199 preceding and current row) as rows_200,
        stddev_samp(ln({{ safe_divide('close', 'prev_close') }})) over (
            order by trade_date rows between 19 preceding and current row
        ) * sqrt(252) as volatility_20d,
        count(prev_close) over (order by trade_date rows between 19 preceding and current row) as returns_20
    from (
        select
            trade_date,
            close,
            lag(close) over (order by trade_date) as prev_close
        from prices
        where ticker = 'SPY'
    ) as spy_rows
),

spy_states as (
    select
        trade_date as series_date,
        case
            when rows_200 < 200 then null
            when close > sma_50 and close > sma_200 then 0
            when close < sma_50 and close < sma_200 then 2
            else 1
        end as trend_state,
        case when returns_20 = 20 then volatility_20d * 100 end as spy_volatility_pct
    from spy
),

vix as (
    select
        trade_date as series_date,
        close as vix_close
    from prices
    where ticker = '^VIX'
),

with_spy as (
    {{ asof_before('calendar', 'spy_states', ['trend_state', 'spy_volatility_pct'], max_lag_days=7) }}
),

with_vix as (
    {{ asof_before('with_spy', 'vix', ['vix_close'], max_lag_days=7) }}
),

states as (
    select
        trade_date,
        trend_state,
        coalesce(vix_close, spy_volatility_pct) as volatility_level,
        case when vix_close is not null then 'vix' else 'spy_volatility_20d' end as volatility_source
    from with_vix
),

final as (
    select
        trade_date,
        trend_state,
        case
            when volatility_level is null then null
            when volatility_level < 15 then 0
            when volatility_level < 20 then 1
            when volatility_level < 30 then 2
            else 3
        end as vol_state,
        volatility_level,
        case when volatility_level is not null then volatility_source end as volatility_source
    from states
)

select
    *,
    trend_state * 4 + vol_state as regime_id
from final

-- Cross-asset features (15), all as of T-1: a row dated t sees each market series only through its
-- latest row dated strictly before t (asof_before), never through an equality join on t, and not at
-- all once that row is more than a week old (a series that stopped is missing, not frozen).
--   VIX, 10-year yield, BTC, SPY, QQQ, IWM and the sector ETF: levels, changes and returns over the
--   series' own rows, from int_market__daily_series.
--   btc_overnight_ret: BTC's move between the value seen at the ticker's previous row and the one seen
--   at t, so the Friday-to-Sunday moves land on Monday.
--   rel_strength_spy_20d, beta_spy_60d, corr_spy_60d: the ticker's rows up to its previous row, with
--   SPY's closes on those same dates (aligned pairs), so the window ends at T-1 too.
-- A series that was not loaded leaves its columns NULL.
{%- set max_lag_days = 7 %}

with prices as (
    select * from {{ ref('int_prices__sequenced') }} as sequenced
    -- Incremental builds read back only the lookback (60-row beta/correlation ending at the previous row).
    where {{ refresh_input('sequenced', 80) }}
),

tickers as (
    select * from {{ ref('int_tickers__universe') }}
),

market as (
    select * from {{ ref('int_market__daily_series') }}
),

calendar as (
    select distinct trade_date from prices
),

vix as (
    select
        series_date,
        level,
        change_5d,
        level_z_60
    from market
    where series_role = 'volatility'
),

yield_10y as (
    select
        series_date,
        level,
        change_5d
    from market
    where series_role = 'yield_10y'
),

btc as (
    select
        series_date,
        level,
        series_ret_5d
    from market
    where series_role = 'crypto'
),

spy as (
    select
        series_date,
        series_ret_1d,
        series_ret_5d
    from market
    where series_ticker = 'SPY'
),

qqq as (
    select
        series_date,
        series_ret_5d
    from market
    where series_ticker = 'QQQ'
),

iwm as (
    select
        series_date,
        series_ret_5d
    from market
    where series_ticker = 'IWM'
),

sector_etfs as (
    select
        series_ticker as sector_etf,
        series_date,
        series_ret_5d
    from market
    where series_role = 'sector_etf'
),

-- The as-of joins run once per trading date (and per sector ETF), not once per ticker row. Each call
-- names its outputs: {series column: feature or helper column}.
with_vix as (
    {{ asof_before(
        'calendar', 'vix', {'level': 'vix_level', 'change_5d': 'vix_change_5d', 'level_z_60': 'vix_z_60'},
        max_lag_days=max_lag_days
    ) }}
),

with_yield as (
    {{ asof_before(
        'with_vix', 'yield_10y', {'level': 'yield_10y_level', 'change_5d': 'yield_10y_change_5d'},
        max_lag_days=max_lag_days
    ) }}
),

-- btc_level feeds btc_overnight_ret below.
with_btc as (
    {{ asof_before(
        'with_yield', 'btc', {'level': 'btc_level', 'series_ret_5d': 'btc_ret_5d'}, max_lag_days=max_lag_days
    ) }}
),

with_spy as (
    {{ asof_before(
        'with_btc', 'spy', {'series_ret_1d': 'spy_ret_1d', 'series_ret_5d': 'spy_ret_5d'}, max_lag_days=max_lag_days
    ) }}
),

with_qqq as (
    {{ asof_before('with_spy', 'qqq', {'series_ret_5d': 'qqq_ret_5d'}, max_lag_days=max_lag_days) }}
),

-- iwm_ret_5d feeds iwm_minus_spy_5d below.
market_by_date as (
    {{ asof_before('with_qqq', 'iwm', {'series_ret_5d': 'iwm_ret_5d'}, max_lag_days=max_lag_days) }}
),

ticker_sector_dates as (
    select distinct
        tickers.sector_etf,
        prices.trade_date
    from prices
    inner join tickers on prices.ticker = tickers.ticker
    where tickers.sector_etf is not null
),

sector_by_date as (
    {{ asof_before(
        'ticker_sector_dates', 'sector_etfs', {'series_ret_5d': 'sector_etf_ret_5d'},
        match_on=['sector_etf'], max_lag_days=max_lag_days
    ) }}
),

spy_closes as (
    select
        series_date,
        level as spy_close
    from market
    where series_ticker = 'SPY'
),

-- SPY's close on each of the ticker's own dates, to pair the ticker's returns with SPY's over the same
-- intervals. This equality join aligns two closes of the same past day; the windows below end at the
-- ticker's previous row, so nothing dated t enters a feature at t.
aligned as (
    select
        prices.ticker,
        prices.trade_date,
        prices.close,
        prices.ret_1d,
        spy_closes.spy_close,
        lag(spy_closes.spy_close) over (
            partition by prices.ticker order by prices.trade_date
        ) as spy_prev_close
    from prices
    left join spy_closes on prices.trade_date = spy_closes.series_date
),

pairs as (
    select
        ticker,
        trade_date,
        close,
        spy_close,
        case
            when spy_prev_close is not null then ret_1d
        end as pair_ticker_ret,
        case
            when ret_1d is not null then {{ safe_divide('spy_close', 'spy_prev_close') }} - 1
        end as pair_spy_ret
    from aligned
),

spy_windows as (
    select
        ticker,
        trade_date,
        lag(close, 1) over ticker_rows as close_lag_1,
        lag(close, 21) over ticker_rows as close_lag_21,
        lag(spy_close, 1) over ticker_rows as spy_close_lag_1,
        lag(spy_close, 21) over ticker_rows as spy_close_lag_21,
        count(pair_spy_ret) over previous_60 as pairs_60,
        covar_samp(pair_ticker_ret, pair_spy_ret) over previous_60 as covariance_60,
        var_samp(pair_spy_ret) over previous_60 as spy_variance_60,
        stddev_samp(pair_ticker_ret) over previous_60 as ticker_std_60,
        stddev_samp(pair_spy_ret) over previous_60 as spy_std_60
    from pairs
    window
        ticker_rows as (partition by ticker order by trade_date),
        previous_60 as (partition by ticker order by trade_date rows between 60 preceding and 1 preceding)
),

spy_relative as (
    select
        ticker,
        trade_date,
        ({{ safe_divide('close_lag_1', 'close_lag_21') }} - 1)
        - ({{ safe_divide('spy_close_lag_1', 'spy_close_lag_21') }} - 1) as rel_strength_spy_20d,
        case when pairs_60 = 60 then {{ safe_divide('covariance_60', 'spy_variance_60') }} end as beta_spy_60d,
        case
            when pairs_60 = 60 then {{ safe_divide('covariance_60', 'ticker_std_60 * spy_std_60') }}
        end as correlation_60
    from spy_windows
),

-- A correlation can land a rounding error outside [-1, 1] (SPY against itself): clamp it. Not with
-- greatest/least, which skip NULLs and would turn a NULL correlation into 1.
spy_clamped as (
    select
        ticker,
        trade_date,
        rel_strength_spy_20d,
        beta_spy_60d,
        case
            when correlation_60 > 1 then 1.0
            when correlation_60 < -1 then -1.0
            else correlation_60
        end as corr_spy_60d
    from spy_relative
),

joined as (
    select
        prices.ticker,
        prices.trade_date,
        market_by_date.vix_level,
        market_by_date.vix_change_5d,
        market_by_date.vix_z_60,
        market_by_date.yield_10y_level,
        market_by_date.yield_10y_change_5d,
        {{ safe_divide(
            'market_by_date.btc_level',
            'lag(market_by_date.btc_level) over (partition by prices.ticker order by prices.trade_date)'
        ) }} - 1 as btc_overnight_ret,
        market_by_date.btc_ret_5d,
        market_by_date.spy_ret_1d,
        market_by_date.spy_ret_5d,
        market_by_date.qqq_ret_5d,
        market_by_date.iwm_ret_5d - market_by_date.spy_ret_5d as iwm_minus_spy_5d,
        sector_by_date.sector_etf_ret_5d,
        spy_clamped.rel_strength_spy_20d,
        spy_clamped.beta_spy_60d,
        spy_clamped.corr_spy_60d
    from prices
    inner join market_by_date on prices.trade_date = market_by_date.trade_date
    left join tickers on prices.ticker = tickers.ticker
    left join sector_by_date
        on
            tickers.sector_etf = sector_by_date.sector_etf
            and prices.trade_date = sector_by_date.trade_date
    inner join spy_clamped
        on
            prices.ticker = spy_clamped.ticker
            and prices.trade_date = spy_clamped.trade_date
),

final as (
    select * from joined
)

select * from final
where {{ refresh_output('final') }}

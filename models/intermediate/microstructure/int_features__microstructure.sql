-- Microstructure features, one row per (ticker, trade_date): where the close sits in the range, two
-- spread estimates (Corwin-Schultz, Roll), Amihud illiquidity, range-based volatilities (Parkinson,
-- Garman-Klass), the overnight/intraday split of the return, abnormal volume and dollar-volume
-- activity. A window feature is NULL until its window holds a full set of values (never a partial mean).
with prices as (
    select * from {{ ref('int_prices__sequenced') }} as sequenced
    -- Incremental builds read back only the lookback (the longest window is the 60-row median before today).
    where {{ refresh_input('sequenced', 80) }}
),

paired as (
    -- Yesterday's high, low and return beside today's: the two-day inputs of the spread estimators.
    select
        *,
        lag(high) over (partition by ticker order by ticker_row) as prev_high,
        lag(low) over (partition by ticker order by ticker_row) as prev_low,
        lag(ret_1d) over (partition by ticker order by ticker_row) as prev_ret_1d
    from prices
),

daily_terms as (
    select
        ticker,
        trade_date,
        ticker_row,
        ret_1d,
        prev_ret_1d,
        dollar_volume,
        {{ close_location_value('close', 'high', 'low') }} as clv,
        {{ safe_divide('open', 'prev_close') }} - 1 as overnight_gap,
        {{ safe_divide('close', 'open') }} - 1 as intraday_ret,
        {{ corwin_schultz_spread('high', 'low', 'prev_high', 'prev_low') }} as cs_spread_2d,
        -- Amihud's daily price impact: NULL on a day without dollar volume.
        abs(ret_1d) / nullif(dollar_volume, 0) as price_impact,
        power(ln(nullif(high, 0) / nullif(low, 0)), 2) as squared_log_range,
        power(ln(nullif(close, 0) / nullif(open, 0)), 2) as squared_log_body,
        ln(nullif(volume, 0)) as log_volume
    from paired
),

windowed as (
    select
        *,
        count(cs_spread_2d) over trailing_20 as cs_spread_rows_20,
        avg(cs_spread_2d) over trailing_20 as cs_spread_mean_20,
        count(ret_1d * prev_ret_1d) over trailing_20 as return_pairs_20,
        covar_samp(ret_1d, prev_ret_1d) over trailing_20 as return_autocovariance_20,
        count(price_impact) over trailing_20 as price_impact_rows_20,
        avg(price_impact) over trailing_20 as price_impact_mean_20,
        count(squared_log_range * squared_log_body) over trailing_20 as range_rows_20,
        avg(squared_log_range) over trailing_20 as squared_log_range_mean_20,
        avg(squared_log_body) over trailing_20 as squared_log_body_mean_20,
        -- volume_z_20 compares today with the 20 rows before it, so today's volume is not in its own baseline.
        count(log_volume) over previous_20 as log_volume_rows_prev_20,
        avg(log_volume) over previous_20 as log_volume_mean_prev_20,
        stddev_samp(log_volume) over previous_20 as log_volume_std_prev_20,
        -- institutional_activity: the median of the 60 rows before today (today excluded).
        {{ rolling_median('dollar_volume', 60, include_current=false) }} as dollar_volume_median_prev_60
    from daily_terms
    window
        trailing_20 as (partition by ticker order by ticker_row rows between 19 preceding and current row),
        previous_20 as (partition by ticker order by ticker_row rows between 20 preceding and 1 preceding)
),

final as (
    select
        ticker,
        trade_date,
        clv,
        case when cs_spread_rows_20 = 20 then cs_spread_mean_20 end as spread_cs_20,
        case when return_pairs_20 = 20 then {{ roll_spread('return_autocovariance_20') }} end as spread_roll_20,
        case when price_impact_rows_20 = 20 then price_impact_mean_20 * 1e9 end as amihud_20,
        case when range_rows_20 = 20 then {{ parkinson_volatility('squared_log_range_mean_20') }} end
            as parkinson_vol_20,
        case
            when range_rows_20 = 20
                then {{ garman_klass_volatility('squared_log_range_mean_20', 'squared_log_body_mean_20') }}
        end as garman_klass_vol_20,
        overnight_gap,
        intraday_ret,
        case
            when log_volume_rows_prev_20 = 20
                then {{ safe_divide('log_volume - log_volume_mean_prev_20', 'log_volume_std_prev_20') }}
        end as volume_z_20,
        {{ safe_divide('dollar_volume', 'dollar_volume_median_prev_60') }} as institutional_activity
    from windowed
)

select * from final
where {{ refresh_output('final') }}

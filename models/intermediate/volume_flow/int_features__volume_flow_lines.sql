-- Volume-flow lines and the raw signals the volume-flow scores rank, one row per (ticker, trade_date).
-- The cumulative lines (ad_line, obv, smi) are running sums over the ticker's whole history, so they
-- match TA-Lib AD and OBV on the same adjusted arrays; the signals are their 20-row changes, the 14-row
-- volume rate of change and the institutional flow index (IFI). Windows count the ticker's rows.
with prices as (
    select * from {{ ref('int_prices__sequenced') }} as sequenced
    -- Incremental builds read back only the lookback (scores rank 252 rows of 20-row changes; the IFI needs 39 rows).
    where {{ refresh_input('sequenced', 300) }}
),

steps as (
    -- Each row's increment of the three lines, and the trailing 20-row median volume that marks the
    -- heavy-volume days of the IFI (today included; NULL until 20 rows exist).
    select
        ticker,
        trade_date,
        ticker_row,
        volume,
        {{ accumulation_distribution_step('close', 'high', 'low', 'volume') }} as ad_step,
        {{ on_balance_volume_step('close', 'prev_close', 'volume') }} as obv_step,
        {{ smart_money_step('open', 'close', 'prev_close') }} as smi_step,
        {{ rolling_median('volume', 20) }} as volume_median_20
    from prices
),

lines as (
    select
        *,
        sum(ad_step) over (
            partition by ticker order by ticker_row rows between unbounded preceding and current row
        ) as ad_line,
        sum(obv_step) over (
            partition by ticker order by ticker_row rows between unbounded preceding and current row
        ) as obv,
        sum(smi_step) over (
            partition by ticker order by ticker_row rows between unbounded preceding and current row
        ) as smi,
        {{ heavy_volume_flow('ad_step', 'volume', 'volume_median_20') }} as heavy_flow
    from steps
),

flow_windows as (
    -- 20-row sums of the heavy-volume money flow and of all volume, for the IFI.
    select
        *,
        count(heavy_flow) over (
            partition by ticker order by ticker_row rows between 19 preceding and current row
        ) as heavy_flow_rows_20,
        sum(heavy_flow) over (
            partition by ticker order by ticker_row rows between 19 preceding and current row
        ) as heavy_flow_20,
        sum(volume) over (
            partition by ticker order by ticker_row rows between 19 preceding and current row
        ) as volume_20
    from lines
),

final as (
    select
        ticker,
        trade_date,
        ticker_row,
        ad_line,
        obv,
        smi,
        -- IFI: heavy-volume money flow over all volume, 20 rows; needs 20 rows with a volume baseline.
        case
            when heavy_flow_rows_20 = 20 then {{ safe_divide('heavy_flow_20', 'volume_20') }}
        end as ifi_raw,
        ad_line - lag(ad_line, 20) over (partition by ticker order by ticker_row) as ad_change_20,
        obv - lag(obv, 20) over (partition by ticker order by ticker_row) as obv_change_20,
        {{ rate_of_change('volume', 14) }} as vroc_14,
        smi - lag(smi, 20) over (partition by ticker order by ticker_row) as smi_change_20
    from flow_windows
)

select * from final
-- Incremental builds keep the 260 rows before the first new one: enough for the scores' 252-row windows,
-- and past the first 40 rows of the lookback, whose own 20-row windows are still filling.
where {{ refresh_input('final', 260) }}

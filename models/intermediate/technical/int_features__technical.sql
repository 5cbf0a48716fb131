-- Technical features (20) per (ticker, trade_date), from the adjusted bars of int_prices__sequenced.
-- Windows count the ticker's rows (ticker_row). Where TA-Lib has the indicator the value equals TA-Lib's
-- from TA-Lib's first output row: the recursive ones (RSI, MACD, ATR, ADX) start from TA-Lib's own seed
-- at TA-Lib's seed row and run through the exponential_smoothing macro (closed form, no recursion).
-- Warm-up rows are NULL, and every division goes through safe_divide (NULL, not inf/NaN, on a flat series).
-- ticker_row is kept beside the 20 features so that warm-up rules can be stated and tested.
with prices as (
    select * from {{ ref('int_prices__sequenced') }} as sequenced
    -- Incremental builds read back far enough for both smoothing passes, plus the bar before the first
    -- pass's restart row, whose +DM / -DM (lag()) it needs (technical_lookback_rows: row 1 within the
    -- first 2,000 rows, else at most 2,401 rows).
    where {{ refresh_input('sequenced', technical_lookback_rows('refresh_window.first_new_row')) }}
),

bar_changes as (
    -- Per-row inputs: gains and losses (RSI), true range (ATR, ADX), high/low moves (ADX),
    -- typical price (CCI). NULL on a ticker's first row, which has no previous bar.
    select
        ticker,
        trade_date,
        ticker_row,
        high,
        low,
        close,
        ret_1d,
        log_ret_1d,
        case
            when prev_close is not null then greatest(high, prev_close) - least(low, prev_close)
        end as true_range,
        case
            when close > prev_close then close - prev_close
            when prev_close is not null then 0.0
        end as gain,
        case
            when close < prev_close then prev_close - close
            when prev_close is not null then 0.0
        end as loss,
        high - lag(high) over (partition by ticker order by ticker_row) as high_up_move,
        lag(low) over (partition by ticker order by ticker_row) - low as low_down_move,
        (high + low + close) / 3 as typical_price
    from prices
),

directional_moves as (
    -- Wilder's +DM / -DM as TA-Lib takes them: the larger move, if positive; ties count for neither.
    select
        *,
        case
            when high_up_move > 0 and high_up_move > low_down_move then high_up_move
            when high_up_move is not null then 0.0
        end as plus_dm,
        case
            when low_down_move > 0 and low_down_move > high_up_move then low_down_move
            when low_down_move is not null then 0.0
        end as minus_dm
    from bar_changes
),

trailing_windows as (
    -- Simple trailing windows, NULL until full (prices are never NULL: rows count from 1, returns from 2).
    select
        *,
        lag(close, 5) over (partition by ticker order by ticker_row) as close_lag_5,
        lag(close, 10) over (partition by ticker order by ticker_row) as close_lag_10,
        lag(close, 20) over (partition by ticker order by ticker_row) as close_lag_20,
        lag(close, 60) over (partition by ticker order by ticker_row) as close_lag_60,
        {{ trailing_aggregate('avg', 'close', 20, value_from_row=1) }} as close_sma_20,
        {{ trailing_aggregate('stddev_pop', 'close', 20, value_from_row=1) }} as close_std_pop_20,
        {{ trailing_aggregate('max', 'close', 20, value_from_row=1) }}
        - {{ trailing_aggregate('min', 'close', 20, value_from_row=1) }} as close_range_20,
        {{ trailing_aggregate('avg', 'close', 50, value_from_row=1) }} as close_sma_50,
        {{ trailing_aggregate('avg', 'close', 200, value_from_row=1) }} as close_sma_200,
        {{ trailing_aggregate('max', 'high', 14, value_from_row=1) }} as highest_high_14,
        {{ trailing_aggregate('min', 'low', 14, value_from_row=1) }} as lowest_low_14,
        {{ trailing_aggregate('avg', 'typical_price', 20, value_from_row=1) }} as typical_price_sma_20,
        {{ trailing_aggregate('max', 'typical_price', 20, value_from_row=1) }}
        - {{ trailing_aggregate('min', 'typical_price', 20, value_from_row=1) }} as typical_price_range_20,
        {{ trailing_aggregate('stddev_samp', 'log_ret_1d', 20, value_from_row=2) }} as log_ret_std_20
    from directional_moves
),

mean_deviations as (
    -- CCI's mean absolute deviation around today's 20-row mean; exactly 0 on a flat window (the
    -- float mean of equal values is not always exactly that value).
    select
        *,
        case
            when typical_price_range_20 = 0 then 0.0
            else {{ mean_absolute_deviation('typical_price', 'typical_price_sma_20', 20) }}
        end as typical_price_mad_20
    from trailing_windows
),

price_seeds as (
    -- TA-Lib's seeds of the smoothings, from each ticker's first rows (the smoothings read them on their
    -- seed rows only, so a ticker's later rows cannot change them).
    select
        ticker,
        -- ADX (row 14): TA-Lib's Wilder sums start from the sum of the first 13 moves (rows 2-14); / 14,
        -- the seeds of the equivalent Wilder averages (the DI ratios are the same).
        sum(plus_dm) filter (where ticker_row <= 14) / 14 as plus_dm_seed_14,
        sum(minus_dm) filter (where ticker_row <= 14) / 14 as minus_dm_seed_14,
        sum(true_range) filter (where ticker_row <= 14) / 14 as true_range_seed_14,
        -- RSI and ATR (row 15): the means of the first 14 gains, losses and true ranges (rows 2-15).
        avg(gain) filter (where ticker_row <= 15) as gain_seed_14,
        avg(loss) filter (where ticker_row <= 15) as loss_seed_14,
        avg(true_range) filter (where ticker_row <= 15) as atr_seed_14,
        -- MACD (row 26): TA-Lib starts both EMAs of its MACD on the slow EMA's first row, the slow one from
        -- the mean of closes 1-26, the fast one from the mean of closes 15-26 (a stand-alone EMA(12) would
        -- start on row 12 from closes 1-12).
        avg(close) filter (where ticker_row between 15 and 26) as close_ema_12_seed,
        avg(close) filter (where ticker_row <= 26) as close_ema_26_seed
    from directional_moves
    group by ticker
),

smoothing_inputs as (
    select
        directional_moves.ticker,
        directional_moves.ticker_row,
        directional_moves.close,
        directional_moves.gain,
        directional_moves.loss,
        directional_moves.true_range,
        directional_moves.plus_dm,
        directional_moves.minus_dm,
        price_seeds.plus_dm_seed_14,
        price_seeds.minus_dm_seed_14,
        price_seeds.true_range_seed_14,
        price_seeds.gain_seed_14,
        price_seeds.loss_seed_14,
        price_seeds.atr_seed_14,
        price_seeds.close_ema_12_seed,
        price_seeds.close_ema_26_seed
    from directional_moves
    inner join price_seeds on directional_moves.ticker = price_seeds.ticker
),

-- Every smoothing of a price input in one pass, each from TA-Lib's seed row and seed: ADX's Wilder sums
-- (row 14), RSI's average gain and loss and ATR (row 15), MACD's two EMAs (row 26).
{{ exponential_smoothing('price_smoothings', 'smoothing_inputs', [
    {'name': 'plus_dm_14', 'value': 'plus_dm', 'alpha': 1 / 14, 'seed_row': 14, 'seed': 'plus_dm_seed_14'},
    {'name': 'minus_dm_14', 'value': 'minus_dm', 'alpha': 1 / 14, 'seed_row': 14, 'seed': 'minus_dm_seed_14'},
    {'name': 'true_range_14', 'value': 'true_range', 'alpha': 1 / 14, 'seed_row': 14, 'seed': 'true_range_seed_14'},
    {'name': 'gain_avg_14', 'value': 'gain', 'alpha': 1 / 14, 'seed_row': 15, 'seed': 'gain_seed_14'},
    {'name': 'loss_avg_14', 'value': 'loss', 'alpha': 1 / 14, 'seed_row': 15, 'seed': 'loss_seed_14'},
    {'name': 'atr_14', 'value': 'true_range', 'alpha': 1 / 14, 'seed_row': 15, 'seed': 'atr_seed_14'},
    {'name': 'close_ema_12', 'value': 'close', 'alpha': 2 / 13, 'seed_row': 26, 'seed': 'close_ema_12_seed'},
    {'name': 'close_ema_26', 'value': 'close', 'alpha': 2 / 27, 'seed_row': 26, 'seed': 'close_ema_26_seed'},
]) }},

directional_indexes as (
    -- MACD (from row 26) and +DI / -DI from the Wilder sums (from row 14; NULL while the ticker has had
    -- no range).
    select
        ticker,
        ticker_row,
        close_ema_12 - close_ema_26 as macd,
        100 * ({{ safe_divide('plus_dm_14', 'true_range_14') }}) as plus_di_14,
        100 * ({{ safe_divide('minus_dm_14', 'true_range_14') }}) as minus_di_14
    from price_smoothings
),

directional_movement as (
    -- DX: NULL until the ticker has had both a range and a directional move. After that it stays
    -- defined: the Wilder sums decay but do not return to 0 (short of 400 rows without any range, when
    -- an epoch restarts from a 0).
    select
        ticker,
        ticker_row,
        macd,
        100 * ({{ safe_divide('abs(plus_di_14 - minus_di_14)', 'plus_di_14 + minus_di_14') }}) as dx_14
    from directional_indexes
),

signal_seeds as (
    -- Seeds of the second smoothings. MACD signal (row 34): the mean of the first 9 MACD values (rows
    -- 26-34). ADX (row 28): TA-Lib's sum of the first 14 DX (rows 15-28) / 14, where an undefined DX
    -- adds nothing. first_dx_row: where DX is first defined; ADX is NULL before it (TA-Lib says 0).
    select
        ticker,
        avg(macd) filter (where ticker_row between 26 and 34) as macd_signal_seed,
        coalesce(sum(dx_14) filter (where ticker_row between 15 and 28), 0) / 14 as adx_seed_14,
        min(ticker_row) filter (where dx_14 is not null) as first_dx_row
    from directional_movement
    group by ticker
),

signal_inputs as (
    -- TA-Lib skips the rows before the first DX, holding an ADX of 0; smoothing a 0 in their place keeps
    -- 0 at 0, so ADX smooths coalesce(dx_14, 0) and equals TA-Lib's from there on.
    select
        directional_movement.ticker,
        directional_movement.ticker_row,
        directional_movement.macd,
        coalesce(directional_movement.dx_14, 0) as dx_14,
        signal_seeds.macd_signal_seed,
        signal_seeds.adx_seed_14
    from directional_movement
    inner join signal_seeds on directional_movement.ticker = signal_seeds.ticker
),

{{ exponential_smoothing('signal_smoothings', 'signal_inputs', [
    {'name': 'adx_14', 'value': 'dx_14', 'alpha': 1 / 14, 'seed_row': 28, 'seed': 'adx_seed_14'},
    {'name': 'macd_signal', 'value': 'macd', 'alpha': 2 / 10, 'seed_row': 34, 'seed': 'macd_signal_seed'},
]) }},

indicators as (
    select
        mean_deviations.ticker,
        mean_deviations.trade_date,
        mean_deviations.ticker_row,
        mean_deviations.ret_1d,
        {{ safe_divide('mean_deviations.close', 'mean_deviations.close_lag_5') }} - 1 as ret_5d,
        {{ safe_divide('mean_deviations.close', 'mean_deviations.close_lag_20') }} - 1 as ret_20d,
        {{ safe_divide('mean_deviations.close', 'mean_deviations.close_lag_60') }} - 1 as ret_60d,
        -- Ratios in [0, 1] are taken before scaling, so rounding cannot push them past the bounds.
        100 * ({{ safe_divide(
            'price_smoothings.gain_avg_14', 'price_smoothings.gain_avg_14 + price_smoothings.loss_avg_14'
        ) }}) as rsi_14,
        price_smoothings.close_ema_12 - price_smoothings.close_ema_26 as macd,
        signal_smoothings.macd_signal,
        price_smoothings.close_ema_12 - price_smoothings.close_ema_26 - signal_smoothings.macd_signal as macd_hist,
        -- Bands: middle +- 2 population std devs; exactly 0 wide on a flat window.
        {{ safe_divide(
            '4 * (case when mean_deviations.close_range_20 = 0 then 0.0 else mean_deviations.close_std_pop_20 end)',
            'mean_deviations.close_sma_20'
        ) }} as bb_width_20,
        {{ safe_divide(
            'mean_deviations.close - mean_deviations.close_sma_20 + 2 * mean_deviations.close_std_pop_20',
            '4 * (case when mean_deviations.close_range_20 = 0 then 0.0 else mean_deviations.close_std_pop_20 end)'
        ) }} as bb_pctb_20,
        {{ safe_divide('price_smoothings.atr_14', 'mean_deviations.close') }} as atr_14_pct,
        100 * ({{ safe_divide(
            'mean_deviations.close - mean_deviations.lowest_low_14',
            'mean_deviations.highest_high_14 - mean_deviations.lowest_low_14'
        ) }}) as stoch_k_14,
        -100 * ({{ safe_divide(
            'mean_deviations.highest_high_14 - mean_deviations.close',
            'mean_deviations.highest_high_14 - mean_deviations.lowest_low_14'
        ) }}) as williams_r_14,
        100 * ({{ safe_divide('mean_deviations.close', 'mean_deviations.close_lag_10') }} - 1) as roc_10,
        {{ safe_divide(
            'mean_deviations.typical_price - mean_deviations.typical_price_sma_20',
            '0.015 * mean_deviations.typical_price_mad_20'
        ) }} as cci_20,
        -- ADX is a weighted mean of DX values in [0, 100]; the closed form's rounding (~1e-14) can put a
        -- lasting DX of 100 a hair above 100, so it is capped there (least() would turn NULL into 100).
        -- NULL before the first DX.
        case
            when signal_seeds.first_dx_row is null or mean_deviations.ticker_row < signal_seeds.first_dx_row then null
            when signal_smoothings.adx_14 > 100 then 100.0
            else signal_smoothings.adx_14
        end as adx_14,
        {{ safe_divide('mean_deviations.close_sma_20', 'mean_deviations.close_sma_50') }} - 1 as sma_ratio_20_50,
        {{ safe_divide('mean_deviations.close', 'mean_deviations.close_sma_200') }} - 1 as dist_sma_200,
        mean_deviations.log_ret_std_20 * sqrt(252) as volatility_20d
    from mean_deviations
    left join price_smoothings
        on
            mean_deviations.ticker = price_smoothings.ticker
            and mean_deviations.ticker_row = price_smoothings.ticker_row
    left join signal_seeds on mean_deviations.ticker = signal_seeds.ticker
    left join signal_smoothings
        on
            mean_deviations.ticker = signal_smoothings.ticker
            and mean_deviations.ticker_row = signal_smoothings.ticker_row
),

final as (
    -- The contract's column order; stoch_d_3 is the 3-row mean of stoch_k_14 (NULL unless all 3 exist).
    select
        ticker,
        trade_date,
        ticker_row,
        ret_1d,
        ret_5d,
        ret_20d,
        ret_60d,
        rsi_14,
        macd,
        macd_signal,
        macd_hist,
        bb_width_20,
        bb_pctb_20,
        atr_14_pct,
        stoch_k_14,
        {{ trailing_aggregate('avg', 'stoch_k_14', 3) }} as stoch_d_3,
        williams_r_14,
        roc_10,
        cci_20,
        adx_14,
        sma_ratio_20_50,
        dist_sma_200,
        volatility_20d
    from indicators
)

select * from final
where {{ refresh_output('final') }}

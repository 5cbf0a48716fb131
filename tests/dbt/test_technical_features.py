"""The technical feature family (`intermediate.int_features__technical`) against TA-Lib and numpy.

Every ticker's adjusted bars are read back from `intermediate.int_prices__sequenced` (ordered by ticker_row)
and TA-Lib runs on those same arrays. A column must equal TA-Lib to 1e-6 relative (plus 1e-9 of its typical
magnitude, for values near zero) on every row from its first row on, except the rows where the model
deliberately gives NULL for a division by zero (flat windows, see the model's YAML); those must be NULL.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import talib  # the reference implementation: the `ta-lib` package (a test dependency, not optional)
from helpers import dbt_build, read, run_job
from numpy.lib.stride_tricks import sliding_window_view

from ingest import jobs

pytestmark = pytest.mark.slow

RTOL = 1e-6
ATOL_OF_TYPICAL = 1e-9

FEATURES = [
    "ret_1d",
    "ret_5d",
    "ret_20d",
    "ret_60d",
    "rsi_14",
    "macd",
    "macd_signal",
    "macd_hist",
    "bb_width_20",
    "bb_pctb_20",
    "atr_14_pct",
    "stoch_k_14",
    "stoch_d_3",
    "williams_r_14",
    "roc_10",
    "cci_20",
    "adx_14",
    "sma_ratio_20_50",
    "dist_sma_200",
    "volatility_20d",
]

# The first ticker_row with a value (rows before it are warm-up, NULL).
FIRST_ROW = {
    "ret_1d": 2,
    "ret_5d": 6,
    "ret_20d": 21,
    "ret_60d": 61,
    "rsi_14": 15,
    "macd": 26,
    "macd_signal": 34,
    "macd_hist": 34,
    "bb_width_20": 20,
    "bb_pctb_20": 20,
    "atr_14_pct": 15,
    "stoch_k_14": 14,
    "stoch_d_3": 16,
    "williams_r_14": 14,
    "roc_10": 11,
    "cci_20": 20,
    "adx_14": 28,
    "sma_ratio_20_50": 50,
    "dist_sma_200": 200,
    "volatility_20d": 21,
}

# The row from which each column is compared with TA-Lib: TA-Lib's own first output row (macd is compared
# from 34 because TA-Lib prints MACD's three lines from there; stoch_k_14 from 16 for the same reason).
TALIB_FROM_ROW = {
    "rsi_14": 15,
    "macd": 34,
    "macd_signal": 34,
    "macd_hist": 34,
    "bb_width_20": 20,
    "bb_pctb_20": 20,
    "atr_14_pct": 15,
    "stoch_k_14": 16,
    "stoch_d_3": 16,
    "williams_r_14": 14,
    "roc_10": 11,
    "cci_20": 20,
    "adx_14": 28,
    "sma_ratio_20_50": 50,
    "dist_sma_200": 200,
}


def load_bars(db_path: Path) -> pd.DataFrame:
    """Adjusted bars joined to their technical features, ordered by ticker and ticker_row."""
    bars = read(
        db_path,
        f"""
        select prices.ticker, prices.ticker_row, prices.high, prices.low, prices.close,
               {", ".join(f"features.{name}" for name in FEATURES)}, features.ticker_row as feature_row
        from intermediate.int_prices__sequenced as prices
        left join intermediate.int_features__technical as features
            on prices.ticker = features.ticker and prices.trade_date = features.trade_date
        order by prices.ticker, prices.ticker_row
        """,
    )
    assert (bars["feature_row"] == bars["ticker_row"]).all(), "every bar has exactly its feature row"
    return bars


def rolling(values: np.ndarray, window: int, reduce) -> np.ndarray:
    """`reduce` over trailing windows of `window` values, NaN while the window is not full."""
    out = np.full(len(values), np.nan)
    if len(values) >= window:
        out[window - 1 :] = reduce(sliding_window_view(values, window), axis=-1)
    return out


def talib_reference(high: np.ndarray, low: np.ndarray, close: np.ndarray) -> dict[str, np.ndarray]:
    """The TA-Lib value of every TA-Lib-covered column on one ticker's adjusted arrays."""
    macd, macd_signal, macd_hist = talib.MACD(close, fastperiod=12, slowperiod=26, signalperiod=9)
    upper, middle, lower = talib.BBANDS(close, timeperiod=20, nbdevup=2, nbdevdn=2, matype=0)
    fast_k, fast_d = talib.STOCHF(high, low, close, fastk_period=14, fastd_period=3, fastd_matype=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "rsi_14": talib.RSI(close, timeperiod=14),
            "macd": macd,
            "macd_signal": macd_signal,
            "macd_hist": macd_hist,
            "bb_width_20": (upper - lower) / middle,
            "bb_pctb_20": (close - lower) / (upper - lower),
            "atr_14_pct": talib.ATR(high, low, close, timeperiod=14) / close,
            "stoch_k_14": fast_k,
            "stoch_d_3": fast_d,
            "williams_r_14": talib.WILLR(high, low, close, timeperiod=14),
            "roc_10": talib.ROC(close, timeperiod=10),
            "cci_20": talib.CCI(high, low, close, timeperiod=20),
            "adx_14": talib.ADX(high, low, close, timeperiod=14),
            "sma_ratio_20_50": talib.SMA(close, 20) / talib.SMA(close, 50) - 1,
            "dist_sma_200": close / talib.SMA(close, 200) - 1,
        }


def division_by_zero_rows(high: np.ndarray, low: np.ndarray, close: np.ndarray) -> dict[str, np.ndarray]:
    """Rows where a column divides by zero, so the model gives NULL (TA-Lib gives 0, inf or NaN).

    Computed independently of the SQL: a window with no range, or (RSI, ADX) no move yet since row 1.
    """
    n = len(close)
    range_14 = rolling(high, 14, np.max) - rolling(low, 14, np.min)
    stoch_zero = range_14 == 0
    stoch_k_zero_in_3 = np.zeros(n, dtype=bool)
    for lag in range(3):
        stoch_k_zero_in_3[lag:] |= stoch_zero[: n - lag]
    typical = (high + low + close) / 3
    moved = np.concatenate([[False], np.cumsum(np.diff(close) != 0) > 0])
    previous_close = np.concatenate([[np.nan], close[:-1]])
    true_range = np.maximum(high, previous_close) - np.minimum(low, previous_close)
    up_move = np.concatenate([[np.nan], np.diff(high)])
    down_move = np.concatenate([[np.nan], -np.diff(low)])
    directional = ((up_move > 0) & (up_move > down_move)) | ((down_move > 0) & (down_move > up_move))
    dx_defined = (np.cumsum(true_range > 0) > 0) & (np.cumsum(directional) > 0)
    return {
        "rsi_14": ~moved,
        "stoch_k_14": stoch_zero,
        "williams_r_14": stoch_zero,
        "stoch_d_3": stoch_k_zero_in_3,
        "bb_pctb_20": rolling(close, 20, np.max) == rolling(close, 20, np.min),
        "cci_20": rolling(typical, 20, np.max) == rolling(typical, 20, np.min),
        "adx_14": ~dx_defined,
    }


def assert_close(ours: np.ndarray, expected: np.ndarray, what: str) -> float:
    """assert_allclose at RTOL with an absolute floor of ATOL_OF_TYPICAL x typical |expected|; returns the
    largest relative error (against max(|expected|, 1e-3 x typical))."""
    if len(expected) == 0:
        return 0.0
    assert np.isfinite(expected).all(), f"{what}: the reference is not finite where it is compared"
    typical = float(np.mean(np.abs(expected)))
    np.testing.assert_allclose(ours, expected, rtol=RTOL, atol=ATOL_OF_TYPICAL * typical, err_msg=what)
    return float(np.max(np.abs(ours - expected) / np.maximum(np.abs(expected), 1e-3 * typical + 1e-300)))


def compare_with_talib(bars: pd.DataFrame) -> dict[str, float]:
    """Compare every TA-Lib-covered column of every ticker; returns the largest relative error per column."""
    worst = dict.fromkeys(TALIB_FROM_ROW, 0.0)
    for ticker, one in bars.groupby("ticker", sort=False):
        high, low, close = (one[name].to_numpy(float) for name in ("high", "low", "close"))
        rows = one["ticker_row"].to_numpy()
        reference = talib_reference(high, low, close)
        null_rows = division_by_zero_rows(high, low, close)
        for column, from_row in TALIB_FROM_ROW.items():
            ours = one[column].to_numpy(float)
            compared = rows >= from_row
            should_be_null = null_rows.get(column, np.zeros(len(rows), dtype=bool)) & compared
            assert np.isnan(ours[should_be_null]).all(), f"{ticker} {column}: a division by zero is not NULL"
            if column != "stoch_d_3":  # TA-Lib averages its zeros into %D; elsewhere it prints 0 or inf/NaN
                talib_there = reference[column][should_be_null]
                assert ((talib_there == 0) | ~np.isfinite(talib_there)).all(), f"{ticker} {column}"
            keep = compared & ~should_be_null
            worst[column] = max(worst[column], assert_close(ours[keep], reference[column][keep], f"{ticker} {column}"))
    return worst


@pytest.fixture(scope="module", params=["synthetic_store", "real_store"])
def store_bars(request) -> pd.DataFrame:
    """Bars and features of the synthetic store, then of the real store (skipped without ../shared/data)."""
    return load_bars(request.getfixturevalue(request.param))


def test_talib_indicators_match_talib_from_their_first_row(store_bars):
    worst = compare_with_talib(store_bars)
    assert max(worst.values()) < RTOL, worst


def test_warm_up_rows_are_null_and_values_start_on_the_first_full_window(store_bars):
    for column, first_row in FIRST_ROW.items():
        warm_up = store_bars["ticker_row"] < first_row
        assert store_bars.loc[warm_up, column].isna().all(), f"{column} has a value during its warm-up"
        first = store_bars[store_bars["ticker_row"] == first_row]
        # Allowed to be NULL on the first row only where a flat window divides by zero (a few real tickers).
        assert first[column].notna().mean() > 0.99, f"{column} is NULL on row {first_row}"


def test_returns_moving_averages_and_volatility_match_numpy(store_bars):
    for ticker, one in store_bars.groupby("ticker", sort=False):
        close = one["close"].to_numpy(float)
        for column, lag in (("ret_1d", 1), ("ret_5d", 5), ("ret_20d", 20), ("ret_60d", 60), ("roc_10", 10)):
            expected = close[lag:] / close[:-lag] - 1
            if column == "roc_10":
                expected = 100 * expected
            assert_close(one[column].to_numpy(float)[lag:], expected, f"{ticker} {column}")
        sma = {window: rolling(close, window, np.mean) for window in (20, 50, 200)}
        for column, expected, from_row in (
            ("sma_ratio_20_50", sma[20] / sma[50] - 1, 50),
            ("dist_sma_200", close / sma[200] - 1, 200),
        ):
            assert_close(one[column].to_numpy(float)[from_row - 1 :], expected[from_row - 1 :], f"{ticker} {column}")
        log_returns = np.log(close[1:] / close[:-1])
        volatility = rolling(log_returns, 20, lambda windows, axis: np.std(windows, axis=axis, ddof=1)) * np.sqrt(252)
        keep = np.isfinite(volatility)
        assert_close(one["volatility_20d"].to_numpy(float)[1:][keep], volatility[keep], f"{ticker} volatility_20d")


def test_macd_differs_from_standalone_emas_by_under_1e_6_of_the_close_after_100_rows(store_bars):
    # TA-Lib's MACD starts its fast EMA on row 26, a stand-alone EMA(12) on row 12 (see the model's YAML).
    for ticker, one in store_bars.groupby("ticker", sort=False):
        close = one["close"].to_numpy(float)
        if len(close) <= 100:
            continue
        standalone = talib.EMA(close, 12) - talib.EMA(close, 26)
        gap = np.abs(one["macd"].to_numpy(float) - standalone)[99:] / close[99:]
        assert gap.max() < 1e-6, ticker


def test_bounded_indicators_stay_in_their_ranges(store_bars):
    for column, low, high in (
        ("rsi_14", 0, 100),
        ("stoch_k_14", 0, 100),
        ("stoch_d_3", 0, 100),
        ("williams_r_14", -100, 0),
        ("adx_14", 0, 100),
    ):
        values = store_bars[column].dropna()
        assert len(values) > 0
        assert values.between(low, high).all(), f"{column} outside [{low}, {high}]"


@pytest.mark.parametrize("store_name", ["synthetic_store", "real_store"])
def test_no_feature_is_nan_or_infinite(store_name, request):
    db_path = request.getfixturevalue(store_name)
    checks = ", ".join(f"count(*) filter (where isnan({name}) or isinf({name})) as {name}" for name in FEATURES)
    counts = read(db_path, f"select {checks} from intermediate.int_features__technical").iloc[0]
    assert (counts == 0).all(), counts[counts > 0].to_dict()


# A tiny store built by this module: a flat ticker, a steadily rising one, and a long random walk (3,500 rows,
# four epochs of the smoothing) together with its first 2,100 rows under another name.
LONG_ROWS = 3500
SHORT_ROWS = 2100


def write_prices(path: Path, ticker: str, open_: np.ndarray, high, low, close) -> None:
    dates = pd.bdate_range("2000-01-03", periods=len(close))
    frame = pd.DataFrame(
        {"Date": dates.strftime("%Y-%m-%d"), "Open": open_, "High": high, "Low": low, "Close": close, "Volume": 1e6}
    )
    frame.to_csv(path / f"{ticker}.csv", index=False)


@pytest.fixture(scope="module")
def edge_store(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("technical_edge_store")
    files = folder / "prices"
    files.mkdir()
    flat = np.full(300, 50.0)
    write_prices(files, "FLAT", flat, flat, flat, flat)
    rising = 50 + 0.5 * np.arange(300)
    write_prices(files, "RISE", rising, rising + 0.25, rising - 0.25, rising)
    random = np.random.default_rng(11)
    close = 40 * np.exp(np.cumsum(random.normal(0, 0.015, LONG_ROWS)))
    open_ = close * np.exp(random.normal(0, 0.005, LONG_ROWS))
    high = np.maximum(open_, close) * (1 + np.abs(random.normal(0, 0.006, LONG_ROWS)))
    low = np.minimum(open_, close) * (1 - np.abs(random.normal(0, 0.006, LONG_ROWS)))
    write_prices(files, "LONG", open_, high, low, close)
    write_prices(files, "SHORT", *(series[:SHORT_ROWS] for series in (open_, high, low, close)))
    db_path = folder / "edge.duckdb"
    run_job(jobs.ingest_files, db_path, [str(files / f"{ticker}.csv") for ticker in ("FLAT", "RISE", "LONG", "SHORT")])
    result = dbt_build(db_path, folder, "--select", "+int_features__technical")
    assert result.returncode == 0, result.stdout[-4000:]
    return db_path


def test_a_constant_price_series_gives_null_not_inf_or_nan(edge_store):
    flat = read(edge_store, "select * from intermediate.int_features__technical where ticker = 'FLAT'")
    assert len(flat) == 300
    for column in ("rsi_14", "bb_pctb_20", "stoch_k_14", "stoch_d_3", "williams_r_14", "cci_20", "adx_14"):
        assert flat[column].isna().all(), f"{column} divides by zero on a flat series: must be NULL"
    for column in FEATURES:
        after_warm_up = flat.loc[flat["ticker_row"] >= FIRST_ROW[column], column]
        if column in ("ret_1d", "ret_5d", "ret_20d", "ret_60d", "roc_10", "sma_ratio_20_50", "dist_sma_200"):
            assert (after_warm_up == 0).all(), column
        elif column in ("bb_width_20", "atr_14_pct", "volatility_20d", "macd", "macd_signal", "macd_hist"):
            assert (after_warm_up.abs() < 1e-12).all(), column  # no range, no move: 0 up to rounding
    checks = ", ".join(f"count(*) filter (where isnan({name}) or isinf({name})) as {name}" for name in FEATURES)
    counts = read(edge_store, f"select {checks} from intermediate.int_features__technical").iloc[0]
    assert (counts == 0).all(), counts[counts > 0].to_dict()


def test_a_steady_trend_keeps_rsi_and_adx_at_100_not_above(edge_store):
    rising = read(edge_store, "select * from intermediate.int_features__technical where ticker = 'RISE'")
    adx = rising.loc[rising["ticker_row"] >= 28, "adx_14"]
    assert adx.notna().all() and (adx <= 100).all() and (adx > 100 - 1e-9).all()
    rsi = rising.loc[rising["ticker_row"] >= 15, "rsi_14"]
    assert (rsi == 100).all()


def test_values_do_not_depend_on_how_many_rows_a_ticker_has(edge_store):
    bars = load_bars(edge_store)
    long_bars = bars[bars["ticker"] == "LONG"].reset_index(drop=True)
    assert len(long_bars) == LONG_ROWS
    worst = compare_with_talib(long_bars)  # across the epoch boundaries at rows 1000, 2000 and 3000
    assert max(worst.values()) < RTOL, worst
    short_bars = bars[bars["ticker"] == "SHORT"].reset_index(drop=True)
    assert len(short_bars) == SHORT_ROWS
    for column in FEATURES:
        long_values = long_bars[column].to_numpy(float)[:SHORT_ROWS]
        np.testing.assert_allclose(
            short_bars[column].to_numpy(float),
            long_values,
            rtol=1e-12,
            atol=1e-12 * np.nanmean(np.abs(long_values)),
            equal_nan=True,
            err_msg=column,
        )

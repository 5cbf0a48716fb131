"""Volume-flow family: int_features__volume_flow_lines (A/D line, OBV, SMI and the raw signals) and
int_features__volume_flow (the five 0-100 scores), checked against TA-Lib and independent pandas/numpy
computations on the synthetic and the real store, plus a point-in-time rebuild on a truncated store."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import talib
from helpers import TRUNCATION_CUTOFF, compile_inline, read
from numpy.testing import assert_allclose

pytestmark = pytest.mark.slow

SCORE_WINDOW = 252
# raw signal -> (score column, first ticker_row with a raw value on a clean history)
SIGNALS = {
    "ifi_raw": ("ifi_score", 39),
    "ad_change_20": ("ad_score", 21),
    "obv_change_20": ("obv_score", 21),
    "vroc_14": ("vroc_score", 15),
    "smi_change_20": ("smi_score", 22),
}


@pytest.fixture(scope="module", params=["synthetic_store", "real_store"])
def store(request):
    """Each built store in turn, with its prices, lines and scores joined and ordered per ticker."""
    db_path = request.getfixturevalue(request.param)
    frame = read(
        db_path,
        """
        select
            prices.ticker, prices.ticker_row, prices.open, prices.high, prices.low, prices.close,
            prices.volume, lines.* exclude (ticker, trade_date, ticker_row), scores.* exclude (ticker, trade_date)
        from intermediate.int_prices__sequenced as prices
        inner join intermediate.int_features__volume_flow_lines as lines using (ticker, trade_date)
        inner join intermediate.int_features__volume_flow as scores using (ticker, trade_date)
        order by prices.ticker, prices.ticker_row
        """,
    )
    return request.param, db_path, frame


def per_ticker(frame: pd.DataFrame):
    """(ticker, rows of that ticker ordered by ticker_row) for every ticker."""
    return frame.groupby("ticker", sort=True)


def trailing_percentile(values: np.ndarray, window: int = SCORE_WINDOW) -> np.ndarray:
    """Share of the last `window` values (today included) <= today's, x 100; NaN unless all are present."""
    scores = np.full(len(values), np.nan)
    for today in range(window - 1, len(values)):
        trailing = values[today - window + 1 : today + 1]
        if not np.isnan(trailing).any():
            scores[today] = 100.0 * np.mean(trailing <= values[today])
    return scores


def reference_ifi(rows: pd.DataFrame) -> np.ndarray:
    """IFI: money flow of heavy days (volume > its 20-row median, today included) over all 20-row volume."""
    high, low, close, volume = (rows[column].to_numpy(dtype=float) for column in ("high", "low", "close", "volume"))
    range_ = high - low
    with np.errstate(divide="ignore", invalid="ignore"):
        clv = np.where(range_ > 0, ((close - low) - (high - close)) / range_, 0.0)
    median_20 = pd.Series(volume).rolling(20).median().to_numpy()
    heavy_flow = np.where(np.isnan(median_20), np.nan, np.where(volume > median_20, clv * volume, 0.0))
    flow_20 = pd.Series(heavy_flow).rolling(20).sum().to_numpy()
    volume_20 = pd.Series(volume).rolling(20).sum().replace(0.0, np.nan).to_numpy()
    return flow_20 / volume_20


def test_ad_line_and_obv_match_talib(store):
    name, _, frame = store
    worst = {"ad_line": 0.0, "obv": 0.0}
    for ticker, rows in per_ticker(frame):
        high, low, close, volume = (rows[column].to_numpy(dtype=float) for column in ("high", "low", "close", "volume"))
        for column, expected in (("ad_line", talib.AD(high, low, close, volume)), ("obv", talib.OBV(close, volume))):
            actual = rows[column].to_numpy(dtype=float)
            # Cumulative lines cross zero: the absolute floor follows the line's own magnitude.
            floor = 1e-9 * max(np.nanmax(np.abs(expected)), 1.0)
            assert_allclose(actual, expected, rtol=1e-6, atol=floor, err_msg=f"{name} {ticker} {column}")
            worst[column] = max(worst[column], float(np.max(np.abs(actual - expected) / (np.abs(expected) + floor))))
    print(f"{name}: max relative error vs TA-Lib (floored) {worst}")


def test_line_changes_and_vroc_match_pandas_and_talib(store):
    name, _, frame = store
    for ticker, rows in per_ticker(frame):
        for line, change in (("ad_line", "ad_change_20"), ("obv", "obv_change_20"), ("smi", "smi_change_20")):
            expected = rows[line].diff(20).to_numpy()
            floor = 1e-9 * max(rows[line].abs().max(), 1.0)
            assert_allclose(rows[change].to_numpy(dtype=float), expected, rtol=1e-9, atol=floor, err_msg=ticker)
        volume = rows["volume"].to_numpy(dtype=float)
        expected_vroc = talib.ROC(volume, 14)
        # TA-Lib writes 0 where the volume 14 rows back is 0; the store has NULL there (division by zero).
        back = np.concatenate([np.full(14, np.nan), volume[:-14]])[: len(volume)]
        expected_vroc[back == 0] = np.nan
        assert_allclose(rows["vroc_14"].to_numpy(dtype=float), expected_vroc, rtol=1e-9, atol=1e-9, err_msg=ticker)
    assert frame["vroc_14"].notna().sum() > 0.9 * len(frame), name


def test_smi_is_the_running_sum_of_intraday_minus_overnight_moves(store):
    _, _, frame = store
    for ticker, rows in per_ticker(frame):
        step = (rows["close"] - rows["open"]) - (rows["open"] - rows["close"].shift(1))
        expected = step.cumsum().to_numpy(dtype=float, copy=True)
        expected[0] = np.nan
        floor = 1e-9 * max(np.nanmax(np.abs(expected)) if len(rows) > 1 else 1.0, 1.0)
        assert_allclose(rows["smi"].to_numpy(dtype=float), expected, rtol=1e-9, atol=floor, err_msg=ticker)


def test_ifi_raw_matches_an_independent_computation(store):
    _, _, frame = store
    for ticker, rows in per_ticker(frame):
        expected = reference_ifi(rows)
        assert_allclose(rows["ifi_raw"].to_numpy(dtype=float), expected, rtol=1e-9, atol=1e-12, err_msg=ticker)
    assert frame["ifi_raw"].between(-1, 1).sum() == frame["ifi_raw"].notna().sum()


def test_scores_are_the_trailing_percentile_of_their_signal(store):
    name, _, frame = store
    tickers = sorted(frame["ticker"].unique())
    # A handful of tickers, the first, middle and last by name, keep the python loop short.
    for ticker in {tickers[0], tickers[len(tickers) // 2], tickers[-1], *tickers[1:4]}:
        rows = frame[frame["ticker"] == ticker]
        for signal, (score, _) in SIGNALS.items():
            expected = trailing_percentile(rows[signal].to_numpy(dtype=float))
            actual = rows[score].to_numpy(dtype=float)
            assert_allclose(actual, expected, rtol=0, atol=1e-9, err_msg=f"{name} {ticker} {score}")


def test_scores_lie_in_0_100_and_are_null_through_the_warm_up(store):
    name, _, frame = store
    for signal, (score, first_signal_row) in SIGNALS.items():
        values = frame[score].dropna()
        assert len(values) > 0, f"{name}: {score} is all NULL"
        assert values.gt(0).all() and values.le(100).all(), f"{name}: {score} outside (0, 100]"
        first_score_row = first_signal_row + SCORE_WINDOW - 1
        assert frame.loc[frame["ticker_row"] < first_score_row, score].isna().all(), f"{name}: {score} in warm-up"
        # A score exists exactly where the signal has 252 trailing values (warm-up and interior NULLs alike).
        full_window = (
            frame.groupby("ticker")[signal]
            .transform(lambda signal: signal.notna().astype(int).rolling(SCORE_WINDOW).sum() == SCORE_WINDOW)
            .astype(bool)
        )
        assert (frame[score].notna() == full_window).all(), f"{name}: {score} NULL pattern"
        at_first_row = frame.loc[frame["ticker_row"] == first_score_row, score]
        assert at_first_row.notna().mean() > 0.9, f"{name}: {score} missing at row {first_score_row}"


def test_lines_warm_up_is_null_not_zero(store):
    name, _, frame = store
    assert frame.loc[frame["ticker_row"] <= 20, ["ad_change_20", "obv_change_20"]].isna().all().all(), name
    assert frame.loc[frame["ticker_row"] <= 14, "vroc_14"].isna().all(), name
    assert frame.loc[frame["ticker_row"] <= 21, "smi_change_20"].isna().all(), name
    assert frame.loc[frame["ticker_row"] <= 38, "ifi_raw"].isna().all(), name
    assert frame.loc[frame["ticker_row"] >= 21, ["ad_change_20", "obv_change_20"]].notna().all().all(), name


CUTOFF = TRUNCATION_CUTOFF


def test_features_do_not_change_when_later_rows_are_removed(synthetic_store, truncated_store):
    sql = """
        select * from intermediate.int_features__volume_flow_lines
        inner join intermediate.int_features__volume_flow using (ticker, trade_date)
        where trade_date <= ? order by ticker, trade_date
    """
    full = read(synthetic_store, sql, CUTOFF)
    truncated = read(truncated_store, sql, CUTOFF)
    assert len(full) == len(truncated) > 0
    assert truncated["ad_score"].notna().sum() > 0  # the cutoff leaves scored rows to compare
    pd.testing.assert_frame_equal(full, truncated, check_exact=False, rtol=1e-12, atol=1e-6)


@pytest.fixture(scope="module")
def compile_folder(tmp_path_factory):
    """One target folder for the module's inline compiles, so dbt parses the project once."""
    return tmp_path_factory.mktemp("volume_flow_compile")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ("rate_of_change('volume', 0)", "rate_of_change needs `window_rows`"),
        ("on_balance_volume_step('close', '', 'volume')", "on_balance_volume_step needs `prev_close`"),
    ],
)
def test_bad_macro_arguments_fail_at_compile_time(compile_folder, call, message):
    result = compile_inline("select {{ " + call + " }}", compile_folder)
    assert result.returncode != 0
    assert message in result.stdout

"""Microstructure family: int_features__microstructure checked formula by formula against independent
numpy/pandas computations on the synthetic and the real store (every ticker), its warm-up and ranges,
and a point-in-time rebuild on a truncated store."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import TRUNCATION_CUTOFF, compile_inline, read
from numpy.testing import assert_allclose

pytestmark = pytest.mark.slow

FEATURES = (
    "clv",
    "spread_cs_20",
    "spread_roll_20",
    "amihud_20",
    "parkinson_vol_20",
    "garman_klass_vol_20",
    "overnight_gap",
    "intraday_ret",
    "volume_z_20",
    "institutional_activity",
)
# First ticker_row with a value on a history with no zero volume and no flat bar.
FIRST_ROW = {
    "clv": 1,
    "intraday_ret": 1,
    "overnight_gap": 2,
    "parkinson_vol_20": 20,
    "garman_klass_vol_20": 20,
    "spread_cs_20": 21,
    "amihud_20": 21,
    "volume_z_20": 21,
    "spread_roll_20": 22,
    "institutional_activity": 61,
}
ANNUALIZE = np.sqrt(252)


@pytest.fixture(scope="module", params=["synthetic_store", "real_store"])
def store(request):
    """Each built store in turn: prices beside the microstructure features, ordered per ticker."""
    db_path = request.getfixturevalue(request.param)
    frame = read(
        db_path,
        """
        select
            prices.ticker, prices.ticker_row, prices.open, prices.high, prices.low, prices.close,
            prices.volume, prices.dollar_volume, prices.ret_1d, features.* exclude (ticker, trade_date)
        from intermediate.int_prices__sequenced as prices
        inner join intermediate.int_features__microstructure as features using (ticker, trade_date)
        order by prices.ticker, prices.ticker_row
        """,
    )
    return request.param, db_path, frame


def rolling(values: np.ndarray, window: int) -> pd.core.window.Rolling:
    """A pandas rolling window that needs `window` non-NaN values (a partial window gives NaN)."""
    return pd.Series(values).rolling(window, min_periods=window)


def sample_covariance_20(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Two-pass sample covariance over the 20 rows ending at each row; NaN unless all 20 pairs exist."""
    covariance = np.full(len(left), np.nan)
    if len(left) >= 20:
        lefts = np.lib.stride_tricks.sliding_window_view(left, 20)
        rights = np.lib.stride_tricks.sliding_window_view(right, 20)
        deviations = (lefts - lefts.mean(axis=1, keepdims=True)) * (rights - rights.mean(axis=1, keepdims=True))
        covariance[19:] = deviations.sum(axis=1) / 19
    return covariance


def reference_features(rows: pd.DataFrame) -> dict[str, np.ndarray]:
    """The ten features of one ticker, computed with numpy/pandas from the adjusted bars."""
    open_, high, low, close, volume, dollar_volume, ret_1d = (
        rows[column].to_numpy(dtype=float)
        for column in ("open", "high", "low", "close", "volume", "dollar_volume", "ret_1d")
    )
    prev_close = np.concatenate([[np.nan], close[:-1]])
    prev_high = np.concatenate([[np.nan], high[:-1]])
    prev_low = np.concatenate([[np.nan], low[:-1]])
    prev_ret = np.concatenate([[np.nan], ret_1d[:-1]])
    with np.errstate(divide="ignore", invalid="ignore"):
        clv = np.where(high > low, ((close - low) - (high - close)) / (high - low), np.nan)

        # Corwin-Schultz, paper form: 2 (e^a - 1) / (1 + e^a), floored at 0, then a 20-row mean.
        beta = np.log(high / low) ** 2 + np.log(prev_high / prev_low) ** 2
        gamma = np.log(np.maximum(high, prev_high) / np.minimum(low, prev_low)) ** 2
        k = 3 - 2 * np.sqrt(2)
        alpha = (np.sqrt(2 * beta) - np.sqrt(beta)) / k - np.sqrt(gamma / k)
        two_day = 2 * (np.exp(alpha) - 1) / (1 + np.exp(alpha))
        two_day = np.where(np.isnan(two_day), np.nan, np.maximum(two_day, 0.0))

        covariance = sample_covariance_20(ret_1d, prev_ret)
        roll = np.where(covariance < 0, 2 * np.sqrt(-covariance), np.nan)

        impact = np.abs(ret_1d) / np.where(dollar_volume > 0, dollar_volume, np.nan)

        squared_range = np.log(high / low) ** 2
        squared_body = np.log(close / open_) ** 2
        parkinson = np.sqrt(rolling(squared_range, 20).mean().to_numpy() / (4 * np.log(2))) * ANNUALIZE
        gk_variance = rolling(0.5 * squared_range - (2 * np.log(2) - 1) * squared_body, 20).mean().to_numpy()
        garman_klass = np.where(gk_variance >= 0, np.sqrt(gk_variance), np.nan) * ANNUALIZE

        log_volume = np.log(np.where(volume > 0, volume, np.nan))
        previous = pd.Series(log_volume).shift(1).rolling(20, min_periods=20)
        volume_std = previous.std(ddof=1).to_numpy()
        volume_z = (log_volume - previous.mean().to_numpy()) / np.where(volume_std > 0, volume_std, np.nan)

        median_prev_60 = pd.Series(dollar_volume).shift(1).rolling(60, min_periods=60).median().to_numpy()
        activity = dollar_volume / np.where(median_prev_60 > 0, median_prev_60, np.nan)

    return {
        "clv": clv,
        "spread_cs_20": rolling(two_day, 20).mean().to_numpy(),
        "spread_roll_20": roll,
        "amihud_20": rolling(impact, 20).mean().to_numpy() * 1e9,
        "parkinson_vol_20": parkinson,
        "garman_klass_vol_20": garman_klass,
        "overnight_gap": open_ / prev_close - 1,
        "intraday_ret": close / open_ - 1,
        "volume_z_20": volume_z,
        "institutional_activity": activity,
    }


def test_every_feature_matches_numpy(store):
    name, _, frame = store
    compared = dict.fromkeys(FEATURES, 0)
    for ticker, rows in frame.groupby("ticker", sort=True):
        for feature, expected in reference_features(rows).items():
            actual = rows[feature].to_numpy(dtype=float)
            # Windowed sums are added in another order by DuckDB and pandas: rtol 1e-9 with a tiny absolute
            # floor for values that are near 0 by cancellation (a z-score or a gap of almost nothing).
            assert_allclose(actual, expected, rtol=1e-9, atol=1e-12, err_msg=f"{name} {ticker} {feature}")
            compared[feature] += int(np.isfinite(expected).sum())
    for feature, count in compared.items():
        assert count > 0.5 * len(frame), f"{name}: only {count} values of {feature} compared"


def test_no_infinite_or_nan_values(store):
    name, _, frame = store
    values = frame[list(FEATURES)].to_numpy(dtype=float)
    assert not np.isinf(values).any(), name
    # NULL comes back as NaN in pandas; DuckDB NaN would too, so check in SQL that none is stored.
    _, db_path, _ = store
    nans = read(
        db_path,
        "select count(*) as nans from intermediate.int_features__microstructure where "
        + " or ".join(f"isnan({feature})" for feature in FEATURES),
    )
    assert nans["nans"].iloc[0] == 0, name


def test_warm_up_is_null_and_values_start_on_time(store):
    name, _, frame = store
    for feature, first_row in FIRST_ROW.items():
        assert frame.loc[frame["ticker_row"] < first_row, feature].isna().all(), f"{name}: {feature} in warm-up"
        at_first_row = frame.loc[frame["ticker_row"] == first_row, feature]
        # Roll is NULL wherever the return autocovariance is >= 0 (most rows on the synthetic market).
        share = 0.1 if feature == "spread_roll_20" else 0.9
        assert at_first_row.notna().mean() > share, f"{name}: {feature} missing at row {first_row}"


def test_ranges(store):
    name, _, frame = store
    assert frame["clv"].dropna().between(-1, 1).all(), name
    for feature in ("spread_cs_20", "spread_roll_20", "amihud_20", "parkinson_vol_20", "garman_klass_vol_20"):
        assert (frame[feature].dropna() >= 0).all(), f"{name}: {feature}"
    assert (frame["institutional_activity"].dropna() >= 0).all(), name
    assert (frame[["overnight_gap", "intraday_ret"]].dropna() >= -1).all().all(), name
    # Over a whole market the typical day is a typical day: median activity near 1, volume z near 0.
    assert 0.8 < frame["institutional_activity"].median() < 1.2, name
    assert -0.5 < frame["volume_z_20"].median() < 0.5, name
    assert 0.05 < frame["parkinson_vol_20"].median() < 1.0, name


def test_zero_volume_and_flat_bars_give_null_not_zero(store):
    name, _, frame = store
    flat = frame["high"] == frame["low"]
    assert frame.loc[flat, "clv"].isna().all(), name
    no_volume = frame["volume"] == 0
    assert frame.loc[no_volume, "volume_z_20"].isna().all(), name
    if name == "real_store":
        assert flat.sum() > 0 and no_volume.sum() > 0  # the real data has both defects: they were exercised


CUTOFF = TRUNCATION_CUTOFF


def test_features_do_not_change_when_later_rows_are_removed(synthetic_store, truncated_store):
    sql = "select * from intermediate.int_features__microstructure where trade_date <= ? order by ticker, trade_date"
    full = read(synthetic_store, sql, CUTOFF)
    truncated = read(truncated_store, sql, CUTOFF)
    assert len(full) == len(truncated) > 0
    assert truncated["institutional_activity"].notna().sum() > 0
    pd.testing.assert_frame_equal(full, truncated, check_exact=False, rtol=1e-12, atol=1e-12)


@pytest.fixture(scope="module")
def compile_folder(tmp_path_factory):
    """One target folder for the module's inline compiles, so dbt parses the project once."""
    return tmp_path_factory.mktemp("microstructure_compile")


def test_rolling_median_compiles_to_a_framed_median(compile_folder):
    result = compile_inline(
        "select {{ rolling_median('dollar_volume', 60, include_current=false) }} from prices", compile_folder
    )
    assert result.returncode == 0, result.stdout[-2000:]
    assert (
        "median(dollar_volume) over (partition by ticker order by ticker_row rows between 60 preceding and 1 preceding)"
        in result.stdout
    )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ("rolling_median('volume', 1)", "rolling_median needs `window_rows`"),
        ("corwin_schultz_spread('high', 'low', 'prev_high', none)", "corwin_schultz_spread needs `prev_low`"),
        (
            "parkinson_volatility('mean_squared_log_range', periods_per_year='daily')",
            "parkinson_volatility needs `periods_per_year`",
        ),
    ],
)
def test_bad_macro_arguments_fail_at_compile_time(compile_folder, call, message):
    result = compile_inline("select {{ " + call + " }}", compile_folder)
    assert result.returncode != 0
    assert message in result.stdout

"""Signal edge: the `signal_edge` macro on a case computed by hand, the marts fct_signal_edge and
fct_signal_edge_by_ticker against an independent numpy Newey-West / Driscoll-Kraay, and the dbt vars that
set the scores, the threshold and the horizon. (Planted-signal and no-signal answers:
tests/ml/backtest/test_backtest.py.)"""

from __future__ import annotations

import shutil

import duckdb
import numpy as np
import pandas as pd
import pytest
from helpers import compiled_sql, read, run_dbt

pytestmark = pytest.mark.slow

# One ticker, six days. High days (is_high = 1): d1, d2, d5 with forward returns 0.03, 0.01, 0.02 (mean 0.02);
# other days: d3, d4, d6 with -0.01, 0.00, -0.02 (mean -0.01). Edge = 0.02 - (-0.01) = 0.03.
TINY = pd.DataFrame(
    {
        "score_name": "ifi_score",
        "ticker": "AAA",
        "trade_date": pd.date_range("2024-01-01", periods=6, freq="D").date,
        "is_high": [1, 1, 0, 0, 1, 0],
        "fwd_ret": [0.03, 0.01, -0.01, 0.00, 0.02, -0.02],
    }
)
# By hand: share of high days p = 1/2, so x = is_high - p = +-1/2 and sum x^2 = 6/4 = 1.5.
# Residuals e = fwd_ret - mean of its kind of day: 0.01, -0.01, 0, 0.01, 0, -0.01.
# Score terms u = x * e: 0.005, -0.005, 0, -0.005, 0, 0.005; sum u^2 = 4 * 0.000025 = 0.0001.
# Lag-1 products u_t * u_{t-1}: -0.000025, 0, 0, 0, 0 -> sum -0.000025.
# lags = 0: S = 0.0001,                             se = sqrt(S) / 1.5 = 0.01 / 1.5,  t = 0.03 * 1.5 / 0.01 = 4.5
# lags = 1: S = 0.0001 + 2 * (1 - 1/2) * -0.000025 = 0.000075, se = sqrt(0.000075) / 1.5, t = 3 * sqrt(3)
EXPECTED_T = {0: 4.5, 1: 3 * np.sqrt(3)}


def run_macro(call: str, frame: pd.DataFrame, folder) -> pd.DataFrame:
    """Compile `call` with dbt and run the SQL on an in-memory DuckDB holding `frame` as table `tiny`."""
    sql = compiled_sql(call, folder)
    with duckdb.connect() as connection:
        connection.register("tiny_frame", frame)
        connection.execute("create table tiny as select * from tiny_frame")
        return connection.execute(sql).df()


@pytest.mark.parametrize("lags", [0, 1])
def test_the_macro_matches_a_case_computed_by_hand(lags, tmp_path):
    result = run_macro(f"{{{{ signal_edge('tiny', ['score_name', 'ticker'], {lags}) }}}}", TINY, tmp_path)
    row = result.iloc[0]
    assert (row["n_days"], row["n_high"], row["n_low"]) == (6, 3, 3)
    assert row["mean_high"] == pytest.approx(0.02, rel=1e-12)
    assert row["mean_low"] == pytest.approx(-0.01, rel=1e-12)
    assert row["edge"] == pytest.approx(0.03, rel=1e-12)
    assert row["t_stat"] == pytest.approx(EXPECTED_T[lags], rel=1e-12)


def test_a_copied_ticker_adds_no_information_to_the_pooled_t(tmp_path):
    """Pooled over two identical tickers (Driscoll-Kraay: the day's cross-section is summed first), the
    standard error is the one ticker's: sum x^2 doubles, S quadruples. A naive pooled t would be sqrt(2)
    times larger."""
    twins = pd.concat([TINY, TINY.assign(ticker="BBB")], ignore_index=True)
    result = run_macro("{{ signal_edge('tiny', ['score_name'], 1) }}", twins, tmp_path)
    assert result["n_days"].item() == 12
    assert result["edge"].item() == pytest.approx(0.03, rel=1e-12)
    assert result["t_stat"].item() == pytest.approx(3 * np.sqrt(3), rel=1e-12)


def test_a_group_with_one_kind_of_day_has_no_edge(tmp_path):
    result = run_macro("{{ signal_edge('tiny', ['ticker'], 1) }}", TINY.assign(is_high=1), tmp_path)
    assert result["n_high"].item() == 6
    assert result[["edge", "standard_error", "t_stat"]].isna().all(axis=None)


def long_run_t(x: np.ndarray, y: np.ndarray, times: np.ndarray, lags: int) -> tuple[float, float]:
    """Independent numpy version: least-squares slope of y on x (0/1) with a Driscoll-Kraay / Newey-West
    standard error over the ordered unique times."""
    p = x.mean()
    slope = y[x == 1].mean() - y[x == 0].mean()
    residual = y - np.where(x == 1, y[x == 1].mean(), y[x == 0].mean())
    order = np.unique(times, return_inverse=True)[1]
    h = np.bincount(order, weights=(x - p) * residual)
    s = h @ h + sum(2 * (1 - lag / (lags + 1)) * (h[lag:] @ h[:-lag]) for lag in range(1, lags + 1))
    return slope, slope / (np.sqrt(s) / ((x - p) ** 2).sum())


def test_the_marts_match_an_independent_numpy_computation(synthetic_store):
    observations = read(synthetic_store, "select * from marts.fct_signal_edge_observations order by trade_date")
    by_ticker = read(synthetic_store, "select * from marts.fct_signal_edge_by_ticker").set_index(
        ["score_name", "ticker"]
    )
    pooled = read(synthetic_store, "select * from marts.fct_signal_edge").set_index("score_name")
    assert set(pooled.index) == {"ifi_score", "ad_score", "obv_score", "vroc_score", "smi_score"}
    assert (pooled["threshold"] == 70).all() and (pooled["horizon_days"] == 5).all()
    checked = 0
    for (score, ticker), rows in observations.groupby(["score_name", "ticker"]):
        x, y = rows["is_high"].to_numpy(float), rows["fwd_ret"].to_numpy()
        if 0 < x.sum() < len(x):
            edge, t = long_run_t(x, y, rows["trade_date"].to_numpy(), lags=4)
            assert by_ticker.loc[(score, ticker), "edge"] == pytest.approx(edge, rel=1e-9, abs=1e-15)
            assert by_ticker.loc[(score, ticker), "t_stat"] == pytest.approx(t, rel=1e-9)
            checked += 1
    assert checked > 100
    for score, rows in observations.groupby("score_name"):
        edge, t = long_run_t(
            rows["is_high"].to_numpy(float), rows["fwd_ret"].to_numpy(), rows["trade_date"].to_numpy(), 4
        )
        assert pooled.loc[score, "edge"] == pytest.approx(edge, rel=1e-9)
        assert pooled.loc[score, "t_stat"] == pytest.approx(t, rel=1e-9)
        own = by_ticker.loc[score]
        assert pooled.loc[score, "tickers_positive"] == (own["edge"] > 0).sum()
        assert pooled.loc[score, "share_tickers_positive"] == pytest.approx(
            (own["edge"] > 0).sum() / own["edge"].notna().sum()
        )


def test_the_fwd_return_at_horizon_5_is_the_label(synthetic_store):
    mismatch = read(
        synthetic_store,
        """
        select count(*) as n, max(abs(o.fwd_ret - l.fwd_ret_5d)) as worst
        from marts.fct_signal_edge_observations as o
        inner join marts.fct_labels as l using (ticker, trade_date)
        """,
    )
    assert mismatch["n"].item() > 10_000
    assert mismatch["worst"].item() < 1e-12


@pytest.fixture(scope="module")
def store_copy(synthetic_store, tmp_path_factory):
    folder = tmp_path_factory.mktemp("signal_edge_vars")
    db_path = folder / "store.duckdb"
    shutil.copy(synthetic_store, db_path)
    return db_path, folder


def test_scores_threshold_and_horizon_are_vars(store_copy):
    db_path, folder = store_copy
    variables = "{signal_edge_scores: [rsi_14, ifi_score], signal_edge_threshold: 80, signal_edge_horizon: 10}"
    result = run_dbt(db_path, folder, "build", "-s", "fct_signal_edge_observations+", "--vars", variables)
    assert result.returncode == 0, result.stdout[-4000:]
    pooled = read(db_path, "select * from marts.fct_signal_edge order by score_name").set_index("score_name")
    assert list(pooled.index) == ["ifi_score", "rsi_14"]
    assert (pooled["threshold"] == 80).all() and (pooled["horizon_days"] == 10).all()
    expected = read(
        db_path,
        """
        with forward as (
            select ticker, trade_date, lead(close, 10) over (partition by ticker order by ticker_row) as ahead
            from intermediate.int_prices__sequenced
        )
        select count(*) as n_days, count(*) filter (where f.rsi_14 > 80) as n_high
        from marts.fct_features as f inner join forward using (ticker, trade_date)
        where f.rsi_14 is not null and forward.ahead is not null
        """,
    )
    assert pooled.loc["rsi_14", "n_days"] == expected["n_days"].item()
    assert pooled.loc["rsi_14", "n_high"] == expected["n_high"].item() > 0


def test_a_bad_horizon_is_one_clear_compile_error(store_copy):
    db_path, folder = store_copy
    result = run_dbt(
        db_path, folder, "build", "-s", "fct_signal_edge_observations", "--vars", "{signal_edge_horizon: 0}"
    )
    assert result.returncode != 0
    assert "var signal_edge_horizon must be a whole number of days >= 1" in result.stdout

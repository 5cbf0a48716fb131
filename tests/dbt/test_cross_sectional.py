"""Cross-sectional columns: the label that beats the day's median (fct_labels) and the stock-level features'
ranks within the day (fct_feature_ranks, carried into fct_training_examples), checked against pandas on a
built store; and a ticker whose last days arrive late (so other tickers' cross-sectional labels and ranks
move after they were written) is caught up exactly by the next plain build."""

from __future__ import annotations

import datetime as dt
import re
import shutil

import duckdb
import numpy as np
import pandas as pd
import pytest
from helpers import PROJECT_DIR, assert_relations_equal, dbt_build, read, run_job

from ingest import jobs

pytestmark = pytest.mark.slow

MARTS = ["fct_features_v1", "fct_feature_ranks", "fct_labels", "fct_training_examples"]
#: FEATURES.md's market-level cross-asset features: one value per day, the same for every ticker.
MARKET_LEVEL = {
    "vix_level",
    "vix_change_5d",
    "vix_z_60",
    "yield_10y_level",
    "yield_10y_change_5d",
    "btc_overnight_ret",
    "btc_ret_5d",
    "spy_ret_1d",
    "spy_ret_5d",
    "qqq_ret_5d",
    "iwm_minus_spy_5d",
}
LATE_DAYS = 12


def percent_rank(frame: pd.DataFrame, column: str) -> pd.Series:
    """SQL percent_rank() within trade_date over the non-NULL values: (rank - 1) / (n - 1), ties sharing
    the lowest rank, 0 when the day has one value, NaN stays NaN."""
    by_day = frame.groupby("trade_date")[column]
    rank = by_day.rank(method="min")
    count = by_day.transform("count")
    return ((rank - 1) / (count - 1)).where(count > 1, 0.0).where(frame[column].notna())


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A small synthetic store (4 equities with the ETFs, 1.5 years), built once from scratch."""
    folder = tmp_path_factory.mktemp("cross_sectional")
    db_path = folder / "full.duckdb"
    run_job(jobs.ingest_synthetic, db_path, seed=3, years=1.5, n_tickers=4, end=dt.date(2024, 12, 31))
    result = dbt_build(db_path, folder / "full")
    assert result.returncode == 0, result.stdout[-3000:]
    return db_path, folder


def test_the_label_beats_the_median_of_the_day_as_pandas_computes_it(built):
    db_path, _ = built
    labels = read(db_path, "select * from marts.fct_labels order by trade_date, ticker")
    median = labels.groupby("trade_date")["fwd_ret_5d"].transform("median")
    expected = (labels["fwd_ret_5d"] > median).astype(float).where(labels["fwd_ret_5d"].notna())
    np.testing.assert_array_equal(labels["label_beats_median_5d"].to_numpy(float), expected.to_numpy(float))
    np.testing.assert_allclose(labels["universe_median_fwd_ret_5d"], median, rtol=1e-12, equal_nan=True)
    known = labels[labels["fwd_ret_5d"].notna()]
    assert known["label_beats_median_5d"].nunique() == 2
    per_day = known.groupby("trade_date")["label_beats_median_5d"].agg(["sum", "count"])
    assert (2 * per_day["sum"] <= per_day["count"]).all()
    # More than one ticker per day, or the label would say nothing.
    assert per_day["count"].median() > 10
    # Usually known with label_up_5d; a ticker missing a row in its window makes its day wait for it.
    assert (known["label_beats_median_known_date"] >= known["label_known_date"]).all()
    assert (known["label_beats_median_known_date"] == known["label_known_date"]).mean() > 0.9


def test_the_examples_carry_the_cross_sectional_label(built):
    db_path, _ = built
    examples = read(
        db_path,
        """
        select examples.label_beats_median_5d as example, labels.label_beats_median_5d as label
        from marts.fct_training_examples as examples
        inner join marts.fct_labels as labels using (ticker, trade_date)
        """,
    )
    assert len(examples) > 1000
    assert examples["example"].notna().all()
    assert (examples["example"] == examples["label"]).all()
    dim = read(db_path, "select * from marts.dim_labels where label_name = 'label_beats_median_5d'")
    assert dim["horizon_days"].tolist() == [5]
    assert "median" in dim["definition"].item()


def test_the_ranks_are_percent_ranks_within_the_day(built):
    db_path, _ = built
    features = read(db_path, "select * from marts.fct_features_v1")
    ranks = read(db_path, "select * from marts.fct_feature_ranks")
    assert len(ranks) == len(features)
    frame = features.merge(ranks, on=["ticker", "trade_date"], validate="one_to_one")
    # A continuous feature, a 0-100 score, an integer with many ties, one with NULLs, a stock-level cross-asset one.
    for feature in ["ret_5d", "rsi_14", "obv_score", "analyst_net_upgrades_30d", "dist_sma_200", "beta_spy_60d"]:
        expected = percent_rank(frame, feature)
        actual = frame[f"{feature}_xs_rank"]
        assert actual.isna().equals(frame[feature].isna()), feature
        np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-12, equal_nan=True, err_msg=feature)
        if feature != "analyst_net_upgrades_30d":  # mostly ties: its top value is rarely alone
            assert actual.min() == 0 and actual.max() == 1, feature
    # Ties share the lower rank: equal values on a day, equal ranks.
    ties = frame.groupby(["trade_date", "analyst_net_upgrades_30d"])["analyst_net_upgrades_30d_xs_rank"].nunique()
    assert (ties == 1).all() and len(ties) > 0
    # dist_sma_200 needs 200 rows: NULL through the warm-up, and those NULLs take no rank.
    assert frame["dist_sma_200"].isna().any() and frame["dist_sma_200"].notna().any()


def test_every_stock_level_feature_has_a_rank_and_no_market_level_one_does(built):
    db_path, _ = built
    features = set(read(db_path, "select * from marts.fct_features_v1 limit 0").columns) - {"ticker", "trade_date"}
    assert features >= MARKET_LEVEL
    ranks = set(read(db_path, "select * from marts.fct_feature_ranks limit 0").columns) - {"ticker", "trade_date"}
    assert ranks == {f"{feature}_xs_rank" for feature in features - MARKET_LEVEL}
    examples = set(read(db_path, "select * from marts.fct_training_examples limit 0").columns)
    assert ranks <= examples
    assert not {f"{feature}_xs_rank" for feature in MARKET_LEVEL} & examples
    # The list the columns come from is the macro's, one name per feature.
    macro = (PROJECT_DIR / "macros" / "cross_sectional" / "stock_level_features.sql").read_text()
    listed = re.findall(r"'(\w+)'", macro.split("return([", 1)[1])
    assert sorted(listed) == sorted(features - MARKET_LEVEL) and len(listed) == 49


def test_a_ticker_whose_last_days_arrive_late_is_caught_up_exactly(built):
    """The late ticker's days enter other tickers' medians and ranks after those rows were written: the next
    plain build rewrites those days, and every mart equals a full build."""
    full, folder = built
    db_path = folder / "late.duckdb"
    shutil.copy(full, db_path)
    late = read(
        full,
        "select ticker from marts.dim_tickers where asset_class = 'equity' and trading_days > 0 "
        "order by trading_days desc, ticker limit 1",
    )["ticker"].item()
    dates = read(full, "select distinct trade_date from raw.prices where ticker = ? order by 1 desc", late)
    first_late_day = dates["trade_date"].iloc[LATE_DAYS - 1]
    with duckdb.connect(str(db_path)) as connection:
        connection.execute("delete from raw.prices where ticker = ? and trade_date >= ?", [late, first_late_day])
    # Yesterday's store, built from scratch without the late ticker's last days.
    first = dbt_build(db_path, folder / "late_first", "--full-refresh")
    assert first.returncode == 0, first.stdout[-3000:]
    before = read(db_path, "select * from marts.fct_training_examples")
    with duckdb.connect(str(db_path)) as connection:
        connection.execute(f"attach '{full}' as source (read_only)")
        connection.execute(
            "insert into raw.prices select * from source.raw.prices where ticker = ? and trade_date >= ?",
            [late, first_late_day],
        )
    second = dbt_build(db_path, folder / "late_second")
    assert second.returncode == 0, second.stdout[-3000:]
    for mart in MARTS:
        assert_relations_equal(db_path, full, f"marts.{mart}")
    # The scenario happened: examples written by the first build (other tickers) changed in the second.
    after = read(db_path, "select * from marts.fct_training_examples")
    moved = before.merge(after, on=["ticker", "trade_date"], suffixes=("_before", "_after"))
    moved = moved[moved["ticker"] != late]
    changed_dates = moved["label_beats_median_known_date_before"] != moved["label_beats_median_known_date_after"]
    changed_ranks = ~np.isclose(moved["ret_5d_xs_rank_before"], moved["ret_5d_xs_rank_after"], equal_nan=True)
    assert changed_dates.sum() > 0
    assert changed_ranks.sum() > 0

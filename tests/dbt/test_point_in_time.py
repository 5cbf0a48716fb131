"""Point-in-time proofs for the feature mart, labels and regimes.

The main proof rewrites every price after a date D (and the cross-asset series on D itself, which
features may only see from D+1), rebuilds the whole project with dbt, and checks that no feature,
regime or earlier label window at a date <= D changed.
"""

from __future__ import annotations

import shutil

import duckdb
import numpy as np
import pandas as pd
import pytest
from helpers import dbt_build, read

pytestmark = pytest.mark.slow

LABEL_COLUMNS = {"fwd_ret_5d", "label_up_5d", "label_known_date"}
#: The cross-sectional label and its bookkeeping: final from label_beats_median_known_date.
CROSS_SECTIONAL_LABEL_COLUMNS = {"label_beats_median_5d", "universe_median_fwd_ret_5d", "label_beats_median_known_date"}
CROSS_ASSET = ("^VIX", "^TNX", "BTC-USD", "SPY", "QQQ", "IWM", "DIA")


def cutoff_date(db_path) -> pd.Timestamp:
    dates = read(db_path, "select distinct trade_date from marts.fct_features order by 1")["trade_date"]
    return dates.iloc[int(len(dates) * 0.7)]


@pytest.fixture(scope="module")
def rewritten_store(synthetic_store, tmp_path_factory):
    """A copy of the synthetic store whose future (> D) was rewritten, rebuilt from raw by dbt."""
    folder = tmp_path_factory.mktemp("rewritten")
    db_path = folder / "store.duckdb"
    shutil.copy(synthetic_store, db_path)
    cutoff = cutoff_date(synthetic_store)
    rng_seed = 20240601
    with duckdb.connect(str(db_path)) as connection:
        connection.execute("select setseed(?)", [rng_seed / 1e8])
        # Scale whole bars after D (OHLC stay consistent), and the market inputs on D itself.
        connection.execute(
            """
            update raw.prices set
                open = open * factor, high = high * factor, low = low * factor, close = close * factor,
                adj_close = adj_close * factor, volume = volume * (2 - factor)
            from (select ticker as t, trade_date as d, 0.7 + 0.6 * random() as factor from raw.prices) as noise
            where raw.prices.ticker = noise.t and raw.prices.trade_date = noise.d
              and (raw.prices.trade_date > ? or (raw.prices.trade_date = ? and raw.prices.ticker in ?))
            """,
            [cutoff, cutoff, list(CROSS_ASSET)],
        )
        connection.execute("update raw.sentiment set sentiment_score = -sentiment_score where trade_date > ?", [cutoff])
        connection.execute("update raw.earnings set surprise_pct = surprise_pct + 50 where announce_date > ?", [cutoff])
        connection.execute("delete from raw.analyst_actions where action_date > ?", [cutoff])
        connection.execute("update raw.insider_trades set value = value * 10 where announce_date > ?", [cutoff])
    # --full-refresh: the copy holds yesterday's marts, and a daily (incremental) build would keep them.
    result = dbt_build(db_path, folder, "--full-refresh")
    assert result.returncode == 0, result.stdout[-4000:]
    return db_path, cutoff


def assert_same(before: pd.DataFrame, after: pd.DataFrame, keys: list[str]) -> None:
    before = before.sort_values(keys, ignore_index=True)
    after = after.sort_values(keys, ignore_index=True)
    assert list(before.columns) == list(after.columns)
    assert len(before) == len(after) > 0
    for column in before.columns:
        left, right = before[column], after[column]
        if pd.api.types.is_float_dtype(left):
            np.testing.assert_allclose(
                right.to_numpy(float), left.to_numpy(float), rtol=1e-9, atol=1e-12, err_msg=column
            )
        else:
            pd.testing.assert_series_equal(left, right, check_names=False, obj=column)


def test_no_feature_at_or_before_d_changes_when_the_future_is_rewritten(synthetic_store, rewritten_store):
    db_path, cutoff = rewritten_store
    # The market series were rewritten ON D as well: other tickers may see them only from D+1. The
    # market ETFs' own features at D change with their own bars, so for them the check stops before D.
    sql = """
        select * from marts.fct_features
        where trade_date < ? or (trade_date = ? and ticker not in (select unnest(?)))
    """
    before = read(synthetic_store, sql, cutoff, cutoff, list(CROSS_ASSET))
    after = read(db_path, sql, cutoff, cutoff, list(CROSS_ASSET))
    assert (before["trade_date"] == cutoff).sum() > 0
    assert_same(before, after, ["ticker", "trade_date"])


def test_no_rank_within_a_day_before_d_changes(synthetic_store, rewritten_store):
    # A rank at t uses the features of t only. On D the market ETFs' own features changed, and they are
    # in the day's cross-section, so the check stops before D.
    db_path, cutoff = rewritten_store
    sql = "select * from marts.fct_feature_ranks where trade_date < ?"
    assert_same(read(synthetic_store, sql, cutoff), read(db_path, sql, cutoff), ["ticker", "trade_date"])


def test_the_rewrite_did_change_features_after_d(synthetic_store, rewritten_store):
    db_path, cutoff = rewritten_store
    sql = "select ticker, trade_date, ret_5d, vix_level from marts.fct_features where trade_date > ? order by 1, 2"
    before, after = read(synthetic_store, sql, cutoff), read(db_path, sql, cutoff)
    assert not np.allclose(before["ret_5d"], after["ret_5d"], equal_nan=True)
    # The VIX of D itself was rewritten: features see it first on the next trading day.
    first_after = after["trade_date"].min()
    changed = before.loc[before["trade_date"] == first_after, "vix_level"].to_numpy()
    assert not np.allclose(changed, after.loc[after["trade_date"] == first_after, "vix_level"].to_numpy())


def test_regimes_at_or_before_d_do_not_change(synthetic_store, rewritten_store):
    db_path, cutoff = rewritten_store
    sql = "select * from marts.fct_market_regimes where trade_date <= ?"
    assert_same(read(synthetic_store, sql, cutoff), read(db_path, sql, cutoff), ["trade_date"])


def test_labels_known_by_d_do_not_change(synthetic_store, rewritten_store):
    db_path, cutoff = rewritten_store
    # Strictly before D: the market ETFs' own closes on D were rewritten too.
    columns = ", ".join(sorted(LABEL_COLUMNS))
    sql = f"select ticker, trade_date, {columns} from marts.fct_labels where label_known_date < ?"
    assert_same(read(synthetic_store, sql, cutoff), read(db_path, sql, cutoff), ["ticker", "trade_date"])
    # The cross-sectional label waits for every ticker of its day: final from label_beats_median_known_date.
    columns = ", ".join(sorted(CROSS_SECTIONAL_LABEL_COLUMNS))
    sql = f"select ticker, trade_date, {columns} from marts.fct_labels where label_beats_median_known_date < ?"
    assert_same(read(synthetic_store, sql, cutoff), read(db_path, sql, cutoff), ["ticker", "trade_date"])


def test_label_known_date_is_the_fifth_next_trading_row(synthetic_store):
    labels = read(
        synthetic_store,
        """
        select labels.*, prices.close, prices.ticker_row
        from marts.fct_labels as labels
        join intermediate.int_prices__sequenced as prices using (ticker, trade_date)
        order by ticker, trade_date
        """,
    )
    for _, rows in labels.groupby("ticker"):
        rows = rows.reset_index(drop=True)
        expected_date = rows["trade_date"].shift(-5)
        expected_ret = rows["close"].shift(-5) / rows["close"] - 1
        pd.testing.assert_series_equal(rows["label_known_date"], expected_date, check_names=False)
        np.testing.assert_allclose(rows["fwd_ret_5d"], expected_ret, rtol=1e-12)
        assert rows["label_up_5d"].tail(5).isna().all()
        known = rows["label_up_5d"].notna()
        assert (rows.loc[known, "label_up_5d"] == (expected_ret[known] > 0).astype(int)).all()


def test_training_examples_hold_only_known_labels_and_features_hold_none(synthetic_store):
    feature_columns = set(read(synthetic_store, "select * from marts.fct_features limit 0").columns)
    assert not feature_columns & (LABEL_COLUMNS | CROSS_SECTIONAL_LABEL_COLUMNS)
    assert len(feature_columns) == 62  # ticker, trade_date and the 60 features of the contract
    counts = read(
        synthetic_store,
        """
        select
            (select count(*) from marts.fct_training_examples) as examples,
            (select count(*) from marts.fct_training_examples where label_up_5d is null) as unlabeled,
            (select count(*) from marts.fct_labels where label_up_5d is not null) as known_labels
        """,
    ).iloc[0]
    assert counts["unlabeled"] == 0
    assert counts["examples"] == counts["known_labels"]


def test_no_feature_is_a_disguised_label(synthetic_store):
    # Signal 0: nothing should predict the 5-day forward return. A feature that does has leaked it.
    examples = read(synthetic_store, "select * from marts.fct_training_examples")
    label_side = LABEL_COLUMNS | CROSS_SECTIONAL_LABEL_COLUMNS | {"ticker", "trade_date"}
    features = [c for c in examples.columns if c not in label_side]
    correlations = examples[features].corrwith(examples["fwd_ret_5d"]).abs().dropna()
    assert correlations.max() < 0.1, correlations.sort_values().tail(5)

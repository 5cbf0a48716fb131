"""No label ever becomes a feature, and no market-level feature is a direct input: the training data's feature
columns are the stock-level features of the feature marts and their ranks within the day, whatever else
`marts.fct_training_examples` carries (labels, their dates, the regime) or gains later; each label is read
with its own known date."""

from __future__ import annotations

import shutil

import duckdb
import pandas as pd
import pytest
from helpers import read, read_job

from ml.errors import MLError
from ml.train.data import load_training_examples
from store import MissingRelationError

pytestmark = pytest.mark.slow


def test_feature_columns_are_the_feature_marts_columns_and_never_a_label(null_run, tmp_path):
    db_path = tmp_path / "store.duckdb"
    shutil.copy(null_run[0], db_path)
    # A label column the training mart gains (as a new label version would add one) stays out of the features.
    with duckdb.connect(str(db_path)) as connection:
        connection.execute("alter table marts.fct_training_examples add column label_new_5d double")
        connection.execute("update marts.fct_training_examples set label_new_5d = label_up_5d")
    data = read_job(load_training_examples, db_path)
    features = set(data.feature_columns)
    labels = set(read(db_path, "select label_name from marts.dim_labels")["label_name"]) | {"label_new_5d"}
    assert labels <= set(data.frame.columns) and not features & labels
    assert not {c for c in features if "label" in c or c.startswith("fwd_ret") or c.endswith("known_date")}
    mart = set(read(db_path, "select * from marts.fct_features_v1 limit 0").columns) - {"ticker", "trade_date"}
    ranks = set(read(db_path, "select * from marts.fct_feature_ranks limit 0").columns) - {"ticker", "trade_date"}
    ranked = {c.removesuffix("_xs_rank") for c in ranks}
    assert features == (mart & ranked) | ranks
    assert set(data.market_columns) == mart - ranked and {"vix_level", "spy_ret_5d"} <= set(data.market_columns)


def test_the_features_left_out_are_the_same_for_every_ticker_of_a_day(null_run):
    """The market-level columns (no rank in the mart) really are market-level: one value per day (on the
    median day; btc_overnight_ret is measured from each ticker's previous close, which differs on a few days
    after a gap), so feeding them to the model could only move a whole day's probabilities together."""
    data = read_job(load_training_examples, null_run[0])
    per_day = data.frame.groupby("trade_date")[data.market_columns].nunique(dropna=False)
    assert (per_day.median() == 1).all(), per_day.median()
    varying = data.frame.groupby("trade_date")[[c for c in data.feature_columns if not c.endswith("_xs_rank")]]
    assert (varying.nunique().median() > 1).all()


@pytest.mark.parametrize(
    ("label", "column", "known"),
    [
        ("beats_median", "label_beats_median_5d", "label_beats_median_known_date"),
        ("up", "label_up_5d", "label_known_date"),
    ],
)
def test_each_label_is_read_with_its_own_known_date(null_run, label, column, known):
    data = read_job(load_training_examples, null_run[0], label=label)
    mart = read(
        null_run[0],
        f"select ticker, trade_date, {known} as known from marts.fct_training_examples "
        f"where {column} is not null order by trade_date, ticker",
    )
    assert data.label.column == column and len(data.frame) == len(mart)
    assert (data.frame["label_known_date"].to_numpy() == pd.to_datetime(mart["known"]).to_numpy()).all()
    assert set(data.labels) == {0, 1}


def test_an_unknown_label_and_a_store_without_ranks_are_clear_errors(null_run, tmp_path):
    with pytest.raises(MLError, match="unknown label 'down'"):
        read_job(load_training_examples, null_run[0], label="down")
    db_path = tmp_path / "store.duckdb"
    shutil.copy(null_run[0], db_path)
    with duckdb.connect(str(db_path)) as connection:
        connection.execute("drop table marts.fct_feature_ranks")
    with pytest.raises(MissingRelationError, match="dbt build --full-refresh"):
        read_job(load_training_examples, db_path)

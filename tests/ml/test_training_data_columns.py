"""No label ever becomes a feature: the training data's feature columns are the feature marts' own columns,
whatever else `marts.fct_training_examples` carries (both labels, their dates, the regime)."""

from __future__ import annotations

import pytest
from helpers import read, read_job

from ml.data import load_training_examples

pytestmark = pytest.mark.slow


def test_feature_columns_are_the_feature_marts_columns_and_never_a_label(null_run):
    db_path, _ = null_run
    data = read_job(load_training_examples, db_path)
    labels = set(read(db_path, "select label_name from marts.dim_labels")["label_name"])
    assert {"label_up_5d", "label_beats_median_5d"} <= labels
    assert labels <= set(data.frame.columns)  # the labels are there, for the learner to be told which one
    features = set(data.feature_columns)
    assert not features & labels
    assert not {c for c in features if "label" in c or c.startswith("fwd_ret") or c.endswith("known_date")}
    mart = set(read(db_path, "select * from marts.fct_features_v1 limit 0").columns) - {"ticker", "trade_date"}
    ranks = {c for c in data.frame.columns if c.endswith("_xs_rank")}
    assert ranks and features == mart | ranks

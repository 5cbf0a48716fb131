"""No label ever becomes a feature: the training data's feature columns are the feature marts' own columns,
whatever else `marts.fct_training_examples` carries (labels, their dates, the regime) or gains later."""

from __future__ import annotations

import shutil

import duckdb
import pytest
from helpers import read, read_job

from ml.data import load_training_examples

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
    ranks = {c for c in data.frame.columns if c.endswith("_xs_rank")}
    assert features == mart | ranks

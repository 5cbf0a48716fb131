"""A disk that fills up while `python -m ml.train` stores its model: one line, exit 1, nothing stored."""

from __future__ import annotations

import json
import shutil

import pytest
from helpers import one_line_error, read, run_module

from ml.train.tuning import CANDIDATE_PARAMS

pytestmark = pytest.mark.slow


def test_a_full_disk_while_storing_the_model_stores_nothing(small_trained_store, tmp_path):
    db_path = tmp_path / "store.duckdb"
    shutil.copy(small_trained_store[0], db_path)
    before = int(read(db_path, "select count(*) as n from ml.models")["n"].item())
    # A model's boosters and baselines are hundreds of KiB: 64 KiB of write-ahead log cannot hold them. One
    # LightGBM setting (--params): the run reaches the storing without the search's fits, which are not the claim.
    setting = json.dumps(CANDIDATE_PARAMS[0])
    arguments = ("--db", str(db_path), "--device", "cpu", "--n-features", "8", "--params", setting)
    result = run_module("ml.train", *arguments, file_size_limit=64 * 1024)
    message = one_line_error(result)
    assert "filled up during the write" in message and str(db_path) in message
    assert int(read(db_path, "select count(*) as n from ml.models")["n"].item()) == before

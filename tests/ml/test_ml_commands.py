"""`python -m ml.train` and `python -m ml.backtest` follow the command-line convention: exit 0 / 1 / 2 / 130,
one-line errors, and Ctrl-C leaves the database as it was (the model and the analysis are each written in one
transaction at the end)."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
from helpers import PROJECT_DIR, one_line_error, read, read_job, run_module

from ml.backtest.statistics import reliability_table
from ml.train.data import load_training_examples
from ml.train.registry import load_model_row, trained_model_from_row

pytestmark = pytest.mark.slow


def test_a_training_run_exits_0_and_prints_its_summary(small_trained_store, tmp_path):
    """The other label (--label up), end to end: trained, stored with its label, and the backtest measures
    the model against that label."""
    db_path = tmp_path / "store.duckdb"
    shutil.copy(small_trained_store[0], db_path)
    before = count(db_path, "ml.models")
    result = run_module(
        "ml.train", "--db", str(db_path), "--device", "cpu", "--n-features", "8", "--seed", "3", "--label", "up"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "test AUC" in result.stdout and "stored in the ml schema as model" in result.stdout
    assert "calibration: auto chose " in result.stdout and "stacker: " in result.stdout
    assert "(label label_up_5d)" in result.stdout
    assert count(db_path, "ml.models") == before + 1
    stored = read(db_path, "select features, params from ml.models order by created_at desc limit 1")
    assert len(json.loads(stored["features"].item())) == 8
    assert json.loads(stored["params"].item())["label"] == "label_up_5d"
    backtest = run_module("ml.backtest", "--db", str(db_path), "--report", str(tmp_path / "report.html"))
    assert backtest.returncode == 0, backtest.stderr[-3000:]
    # The reliability table's outcomes are label_up_5d's on the model's test window, not the default label's: its
    # bins are those of the model's raw probabilities on that window with label_up_5d as the outcome.
    model_id = read(db_path, "select model_id from ml.models order by created_at desc limit 1")["model_id"].item()
    stored = read(
        db_path,
        "select bin, rows, observed_rate from analysis.reliability join analysis.runs using (run_id) "
        "where probability = 'raw' and runs.model_id = ? order by bin",
        model_id,
    )
    row = read_job(load_model_row, db_path, model_id)
    model, window = trained_model_from_row(row), row["splits"]["test"]
    examples = read_job(load_training_examples, db_path, label="up").frame
    test = examples[
        examples["trade_date"].between(pd.Timestamp(window["first_date"]), pd.Timestamp(window["last_date"]))
    ]
    raw = model.predict_proba(test, calibrated=False)
    by_label = {
        label: reliability_table(raw, test[label].to_numpy(dtype=float), len(stored))
        for label in ("label_up_5d", "label_beats_median_5d")
    }
    assert stored["rows"].tolist() == by_label["label_up_5d"]["rows"].tolist()
    np.testing.assert_allclose(stored["observed_rate"], by_label["label_up_5d"]["observed_rate"], rtol=0, atol=1e-12)
    difference = np.abs(by_label["label_up_5d"]["observed_rate"] - by_label["label_beats_median_5d"]["observed_rate"])
    assert difference.max() > 0.01  # the other label's bins would differ


@pytest.mark.parametrize(
    "arguments",
    [
        ("ml.train", "--seed", "-1"),
        ("ml.train", "--seed", "seven"),
        ("ml.train", "--n-features", "0"),
        ("ml.train", "--features", "20"),  # a count is --n-features
        ("ml.train", "--device", "tpu"),
        ("ml.train", "--calibration", "beta"),
        ("ml.train", "--label", "down"),
        ("ml.train", "--params", '{"num_leavs": 7}'),  # a misspelt LightGBM parameter
        ("ml.backtest", "--top-fraction", "0"),
        ("ml.backtest", "--top-fraction", "1.5"),
        ("ml.backtest", "--cost-bps", "-1"),
        ("ml.backtest", "--cost-bps", "nan"),
    ],
)
def test_bad_arguments_are_usage_errors(tmp_path, arguments):
    db_path = tmp_path / "store.duckdb"
    result = run_module(*arguments, "--db", str(db_path))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and f"usage: python -m {arguments[0]}" in result.stderr
    assert not db_path.exists()


@pytest.mark.parametrize("module", ["ml.train", "ml.backtest"])
def test_a_missing_or_wrong_database_is_one_line_and_exit_1(tmp_path, module):
    missing = tmp_path / "absent.duckdb"
    assert "does not exist" in one_line_error(run_module(module, "--db", str(missing)))
    assert not missing.exists()  # nothing is created by a command that only needs an existing store
    assert "is a directory" in one_line_error(run_module(module, "--db", str(tmp_path)))


def count(db_path, table: str) -> int:
    """Rows of `schema.table`, 0 when the table does not exist yet."""
    schema, name = table.split(".")
    exists = read(
        db_path,
        "select count(*) as n from information_schema.tables where table_schema = ? and table_name = ?",
        schema,
        name,
    )["n"].item()
    return read(db_path, f"select count(*) as n from {table}")["n"].item() if exists else 0


def test_a_report_path_that_is_a_directory_is_one_line(small_trained_store, tmp_path):
    db_path = tmp_path / "store.duckdb"
    shutil.copy(small_trained_store[0], db_path)
    before = count(db_path, "analysis.runs")
    line = one_line_error(run_module("ml.backtest", "--db", str(db_path), "--report", str(tmp_path)))
    assert "is a directory" in line and "--report" in line
    assert count(db_path, "analysis.runs") == before  # nothing stored when the report could not be written


def interrupt(command: list[str], stage: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run `command`, send SIGINT once a stage line containing `stage` appears; return what it printed."""
    process = subprocess.Popen(command, cwd=PROJECT_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen, deadline = [], time.monotonic() + timeout
    for line in process.stderr:
        seen.append(line)
        if stage in line:
            time.sleep(0.5)  # into the step, not at its first line
            process.send_signal(signal.SIGINT)
            break
        assert time.monotonic() < deadline, f"never reached {stage!r}"
    out, rest = process.communicate(timeout=300)
    return subprocess.CompletedProcess(command, process.returncode, out, "".join(seen) + rest)


@pytest.mark.parametrize(
    ("module", "stage", "table", "extra"),
    [
        ("ml.train", "choosing LightGBM settings", "ml.models", ()),
        # With one setting the run reaches the final training without the search's minutes.
        ("ml.train", "training the hierarchical meta-learner", "ml.models", ("--params", '{"num_leaves": 15}')),
        ("ml.backtest", "factor view", "analysis.runs", ()),
    ],
)
def test_ctrl_c_exits_130_and_stores_nothing(small_trained_store, tmp_path, module, stage, table, extra):
    db_path = tmp_path / "store.duckdb"
    shutil.copy(small_trained_store[0], db_path)
    before = count(db_path, table)
    command = [sys.executable, "-m", module, "--db", str(db_path), *extra]
    if module == "ml.backtest":
        command += ["--report", str(tmp_path / "edge.html")]
    result = interrupt(command, stage)
    assert result.returncode == 130, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("interrupted: ")
    assert count(db_path, table) == before

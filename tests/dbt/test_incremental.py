"""Daily incremental builds: adding one day computes only the new rows (with each family's lookback),
and the marts then equal a full rebuild of the same data."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import duckdb
import pandas as pd
import pytest
from helpers import assert_relations_equal, dbt_build, deliver_raw, hold_back_raw, read, run_dbt, run_job

from ingest import jobs

pytestmark = pytest.mark.slow

MARTS = {
    "fct_features": ["ticker", "trade_date"],
    "fct_feature_ranks": ["ticker", "trade_date"],
    "fct_labels": ["ticker", "trade_date"],
    "fct_training_examples": ["ticker", "trade_date"],
}


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    folder = tmp_path_factory.mktemp("incremental")
    full = folder / "full.duckdb"
    # 8.5 years (~2,200 rows): the new day falls in the third 1,000-row epoch of the technical family's
    # smoothing, so its incremental read really starts mid-history (technical_lookback_rows).
    run_job(jobs.ingest_synthetic, full, seed=11, years=8.5, n_tickers=8, end=dt.date(2024, 12, 31))
    daily = folder / "daily.duckdb"
    shutil.copy(full, daily)
    with duckdb.connect(str(full), read_only=True) as connection:
        last_day = connection.execute("select max(trade_date) from raw.prices where ticker = 'SPY'").fetchone()[0]
    # Yesterday's warehouse: everything before the last trading day, built from scratch.
    hold_back_raw(daily, last_day)
    first = dbt_build(daily, folder / "first")
    assert first.returncode == 0, first.stdout[-3000:]
    # Today's data arrives; the daily build is incremental (no --full-refresh), with the daily selector.
    deliver_raw(daily, full, last_day)
    second = dbt_build(daily, folder / "second", "--selector", "daily")
    assert second.returncode == 0, second.stdout[-3000:]
    reference = dbt_build(full, folder / "reference")
    assert reference.returncode == 0, reference.stdout[-3000:]
    return full, daily, last_day


@pytest.mark.parametrize("mart", list(MARTS))
def test_incremental_build_equals_a_full_build(stores, mart):
    full, daily, _ = stores
    assert_relations_equal(daily, full, f"marts.{mart}", MARTS[mart])


def test_the_daily_build_computed_only_the_new_day(stores):
    full, daily, last_day = stores
    computed = read(
        daily, "select count(*) as rows, min(trade_date) as first from intermediate.int_features__volume_flow"
    )
    tickers = read(full, "select count(distinct ticker) as n from marts.fct_features where trade_date = ?", last_day)
    assert computed["rows"].iloc[0] == tickers["n"].iloc[0]
    assert computed["first"].iloc[0] == pd.Timestamp(last_day)


def test_the_technical_family_read_back_only_its_epoch(stores):
    _, daily, _ = stores
    rows = read(daily, "select max(ticker_row) as last from intermediate.int_prices__sequenced")["last"].iloc[0]
    assert rows > 2000  # the new row is in the third 1,000-row epoch
    computed = read(daily, "select count(*) as n from intermediate.int_features__technical")["n"].iloc[0]
    tickers = read(daily, "select count(distinct ticker) as n from intermediate.int_prices__sequenced")["n"].iloc[0]
    assert computed == tickers  # only the new day was written


def test_the_daily_selector_builds_what_ml_daily_reads_without_unit_tests_seeds_or_analysis(stores, tmp_path):
    _, daily, _ = stores
    listed = run_dbt(daily, tmp_path, "ls", "--selector", "daily", "--output", "json", "-q")
    assert listed.returncode == 0, listed.stdout[-3000:]
    nodes = [json.loads(line) for line in listed.stdout.splitlines() if line.startswith("{")]
    kinds = {node["resource_type"] for node in nodes}
    models = {node["name"] for node in nodes if node["resource_type"] == "model"}
    assert kinds == {"model", "test", "source"}  # no unit test, no seed (sources are read, not built)
    assert {"fct_features", "fct_feature_ranks", "fct_labels", "fct_training_examples", "fct_market_regimes"} <= models
    assert not any("signal_edge" in name for name in models)
    assert sum(node["resource_type"] == "test" for node in nodes) > 150  # the data tests of those models


def test_the_marts_data_tests_read_the_rows_the_latest_build_wrote(stores, tmp_path):
    """A daily build's generic tests on the incremental marts read the days it wrote (and the label window
    before them), not the years earlier builds tested; after a first build (or --full-refresh) every row."""
    full, daily, last_day = stores
    generic_tests_of_labels = ["test", "--select", "fct_labels,test_type:generic"]
    for store, name in ((daily, "daily"), (full, "first_build")):
        copy = tmp_path / f"{name}.duckdb"
        shutil.copy(store, copy)
        with duckdb.connect(str(copy)) as connection:
            first_day = connection.execute("select min(trade_date) from marts.fct_labels").fetchall()[0][0]
            connection.execute("update marts.fct_labels set label_up_5d = 7 where trade_date = ?", [first_day])
        result = run_dbt(copy, tmp_path / name, *generic_tests_of_labels)
        if name == "daily":
            # The daily build wrote the last day (and rewrote the labels of the days before it), not the first.
            assert result.returncode == 0, result.stdout[-3000:]
            with duckdb.connect(str(copy)) as connection:
                connection.execute("update marts.fct_labels set label_up_5d = 7 where trade_date = ?", [last_day])
            result = run_dbt(copy, tmp_path / f"{name}_new_row", *generic_tests_of_labels)
        assert result.returncode == 1, result.stdout[-3000:]
        assert "accepted_values_fct_labels_label_up_5d" in result.stdout

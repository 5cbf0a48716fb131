"""A build that stopped part-way (killed, or run with `-s +fct_features_v1`) is caught up by the next plain
`dbt build`: every incremental mart computes its missing rows from its own state, so the marts end equal to
a full build. And the coverage data tests fail a store whose label marts fell behind the feature mart."""

from __future__ import annotations

import datetime as dt
import re
import shutil

import duckdb
import pytest
from helpers import assert_relations_equal, dbt_build, deliver_raw, hold_back_raw, read, run_dbt, run_job

from ingest import jobs

pytestmark = pytest.mark.slow

MARTS = ["fct_features_v1", "fct_feature_ranks", "fct_labels", "fct_training_examples"]
COVERAGE_TESTS = [
    "assert_fct_labels_keys_are_the_feature_keys",
    "assert_fct_training_examples_keys_are_the_known_labels",
    "assert_fct_labels_null_only_where_no_label_can_be",
    "assert_fct_labels_median_is_the_day_median",
    "assert_fct_training_examples_labels_are_fct_labels",
    "assert_fct_feature_ranks_keys_are_the_feature_keys",
]
NEW_DAYS = 10


def assert_marts_equal(actual_db, expected_db) -> None:
    for mart in MARTS:
        assert_relations_equal(actual_db, expected_db, f"marts.{mart}")


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    """`full`: built once from all the data. `behind`: built without the last NEW_DAYS days, which then arrive."""
    folder = tmp_path_factory.mktemp("partial_builds")
    full = folder / "full.duckdb"
    run_job(jobs.ingest_synthetic, full, seed=5, years=1.5, n_tickers=4, end=dt.date(2024, 12, 31))
    behind = folder / "behind.duckdb"
    shutil.copy(full, behind)
    reference = dbt_build(full, folder / "reference")
    assert reference.returncode == 0, reference.stdout[-3000:]
    with duckdb.connect(str(full), read_only=True) as connection:
        dates = connection.execute("select distinct trade_date from raw.prices order by trade_date desc").fetchall()
    first_new_day = dates[NEW_DAYS - 1][0]
    hold_back_raw(behind, first_new_day)
    first = dbt_build(behind, folder / "first")
    assert first.returncode == 0, first.stdout[-3000:]
    deliver_raw(behind, full, first_new_day)
    return full, behind, folder


def test_a_build_that_stopped_after_the_feature_mart_is_caught_up_by_the_next(stores):
    full, behind, folder = stores
    db_path = folder / "stopped.duckdb"
    shutil.copy(behind, db_path)
    # The new days reach fct_features_v1 only (as if the build had been killed after it); its own data tests
    # run, the cross-mart coverage tests are left for the build that builds the label marts (the project's
    # indirect selection is `buildable`).
    partial = run_dbt(db_path, folder / "stopped", "build", "-s", "+fct_features_v1")
    assert partial.returncode == 0, partial.stdout[-3000:]
    assert read(db_path, "select count(*) as n from marts.fct_features_v1")["n"].item() == (
        read(full, "select count(*) as n from marts.fct_features_v1")["n"].item()
    )
    caught_up = dbt_build(db_path, folder / "caught_up")
    assert caught_up.returncode == 0, caught_up.stdout[-3000:]
    assert_marts_equal(db_path, full)


def test_the_coverage_tests_fail_a_store_whose_label_marts_fell_behind(stores):
    full, _, folder = stores
    db_path = folder / "damaged.duckdb"
    shutil.copy(full, db_path)
    with duckdb.connect(str(db_path)) as connection:
        first_date = connection.execute("select min(trade_date) from marts.fct_labels").fetchone()[0]
        connection.execute("delete from marts.fct_labels where ticker = 'SPY' and trade_date > ?", [first_date])
        connection.execute("delete from marts.fct_training_examples where trade_date = ?", [first_date])
        connection.execute(
            "update marts.fct_labels set fwd_ret_5d = null, label_up_5d = null, label_known_date = null "
            "where trade_date = ?",
            [first_date],
        )
        # A cross-sectional label that did not follow its day, and a day never ranked.
        later_date = connection.execute(
            "select min(trade_date) from marts.fct_training_examples where trade_date > ?", [first_date]
        ).fetchone()[0]
        connection.execute(
            "update marts.fct_training_examples set label_beats_median_5d = 1 - label_beats_median_5d "
            "where trade_date = ?",
            [later_date],
        )
        connection.execute("delete from marts.fct_feature_ranks where trade_date = ?", [later_date])
    tested = run_dbt(db_path, folder / "damaged", "test", "-s", *COVERAGE_TESTS)
    assert tested.returncode != 0
    for name in COVERAGE_TESTS:
        assert re.search(rf"FAIL \d+ {name}", tested.stdout), tested.stdout[-3000:]
    # The next plain build recomputes exactly the damaged rows.
    repaired = dbt_build(db_path, folder / "repaired")
    assert repaired.returncode == 0, repaired.stdout[-3000:]
    assert_marts_equal(db_path, full)

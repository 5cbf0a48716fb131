"""`dbt build` of the staging models and dim_tickers on real DuckDB files built by the ingest jobs (the shared
synthetic and real stores of tests/conftest.py, whose builds printed `dbt_build.log`)."""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import pytest
from helpers import dbt_build, run_job

from ingest import jobs

pytestmark = pytest.mark.slow


def query(db_path, sql: str):
    with duckdb.connect(str(db_path), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def test_dbt_build_passes_on_the_synthetic_market(synthetic_store):
    printed = (synthetic_store.parent / "dbt_build.log").read_text()
    assert "ERROR=0" in printed and "PASS=" in printed
    # Every kind of node ran, the dbt unit tests included (the other stores' builds leave them out).
    results = json.loads((synthetic_store.parent / "target" / "run_results.json").read_text())["results"]
    statuses: dict[str, set[str]] = {}
    for result in results:
        statuses.setdefault(result["unique_id"].split(".")[0], set()).add(result["status"])
    assert statuses == {
        "model": {"success"},
        "seed": {"success"},
        "operation": {"success"},
        "test": {"pass"},
        "unit_test": {"pass"},
    }
    assert sum(result["unique_id"].startswith("unit_test.") for result in results) == 10


def test_staging_prices_are_split_and_dividend_adjusted(synthetic_store):
    db_path = synthetic_store
    mismatches = query(
        db_path,
        """
        select count(*) from staging.stg_raw__prices as staged
        join raw.prices as raw using (ticker, trade_date)
        where abs(staged.close - coalesce(raw.adj_close, raw.close)) > 1e-9 * raw.close
           or abs(staged.volume * staged.close - raw.volume * raw.close) > 1e-6 * raw.volume * raw.close
        """,
    )
    assert mismatches == [(0,)]
    adjusted = query(db_path, "select count(*) from staging.stg_raw__prices where adjustment_factor < 0.999")
    assert adjusted[0][0] > 0  # the synthetic market has dividends and splits


def test_dim_tickers_holds_the_universe_and_the_loaded_series(synthetic_store):
    db_path = synthetic_store
    (in_universe, loaded) = query(
        db_path,
        "select count(*) filter (where in_master or in_alpha76), count(*) filter (where trading_days > 0) "
        "from marts.dim_tickers",
    )[0]
    assert in_universe == 155
    assert loaded == query(db_path, "select count(distinct ticker) from raw.prices")[0][0]


def test_a_bad_row_that_bypasses_ingest_fails_the_data_tests(tmp_path):
    db_path = tmp_path / "bad.duckdb"
    run_job(jobs.ingest_synthetic, db_path, seed=1, years=0.5, n_tickers=3, end=dt.date(2024, 6, 28))
    with duckdb.connect(str(db_path)) as connection:
        connection.execute(
            "insert into raw.prices values "
            "('SPY', date '2024-06-29', 10, 9, 11, 10, null, 5, 'manual', null, null, 'x')"
        )
    result = dbt_build(db_path, tmp_path)
    assert result.returncode != 0
    assert "expression_is_true_stg_raw__prices" in result.stdout and "FAIL" in result.stdout


def test_dbt_build_passes_on_the_shared_real_data(real_store):
    printed = (real_store.parent / "dbt_build.log").read_text()
    assert "ERROR=0" in printed and "PASS=" in printed
    not_in_universe = query(real_store, "select count(*) from marts.dim_tickers where not in_universe")[0][0]
    assert not_in_universe > 250  # most S&P 500 names of 2015-2020 are not on the watchlists

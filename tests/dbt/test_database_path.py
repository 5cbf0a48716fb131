"""Where the database file is does not matter to dbt: a path with an apostrophe and a space, in the folder
and in the file name (whose stem DuckDB makes the catalog name), is ingested and built like any other."""

from __future__ import annotations

import datetime as dt

import pytest
from helpers import dbt_build, read, run_job

from ingest import jobs

pytestmark = pytest.mark.slow


def test_a_path_with_an_apostrophe_and_a_space_builds(tmp_path):
    folder = tmp_path / "it's here"
    folder.mkdir()
    db_path = folder / "o'neil store.duckdb"
    run_job(jobs.ingest_synthetic, db_path, seed=1, years=0.5, n_tickers=3, end=dt.date(2024, 6, 28))
    first = dbt_build(db_path, tmp_path / "first", absolute=True)
    assert first.returncode == 0, first.stdout[-3000:]
    # The daily (incremental) build looks the built marts up by catalog name too. (In the same target folder: it
    # starts from the first build's parse, as a user's second build does.)
    second = dbt_build(db_path, tmp_path / "first", absolute=True)
    assert second.returncode == 0, second.stdout[-3000:]
    catalog = read(db_path, "select current_database() as name")["name"].item()
    assert catalog == "o'neil store"
    assert read(db_path, "select count(*) as n from marts.fct_training_examples")["n"].item() > 0

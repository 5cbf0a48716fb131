"""`python -m ingest export`: the raw datasets as Parquet files partitioned by year, for Spark (store.parquet)."""

from __future__ import annotations

import datetime as dt
import shutil

import duckdb
import pytest
from helpers import compiled_sql, one_line_error, run_job, run_module

from ingest import jobs
from store import connect
from store.parquet import date_column as partition_date
from store.parquet import export_raw
from store.tables import RAW_DATASETS


@pytest.fixture(scope="module")
def raw_store(tmp_path_factory):
    db_path = tmp_path_factory.mktemp("export") / "store.duckdb"
    run_job(jobs.ingest_synthetic, db_path, seed=3, years=1.5, n_tickers=2, end=dt.date(2024, 12, 31))
    return db_path


def parquet_rows(folder, where: str = "true") -> list[tuple]:
    with duckdb.connect() as connection:
        return connection.execute(
            f"select * exclude (year) from read_parquet('{folder}/**/*.parquet', hive_partitioning = true) "
            f"where {where}"
        ).fetchall()


def test_every_dataset_is_written_whole_and_partitioned_by_the_year_of_its_date(raw_store, tmp_path):
    connection = connect(raw_store, read_only=True)
    try:
        exported = export_raw(connection, tmp_path)
        for dataset in exported:
            date_column = partition_date(dataset.name)
            stored = connection.execute(f"select * from raw.{dataset.name}").fetchall()
            assert dataset.rows == len(stored) > 0, dataset.name
            assert sorted(parquet_rows(dataset.folder), key=repr) == sorted(stored, key=repr), dataset.name
            years = sorted(path.name for path in dataset.folder.iterdir())
            expected = connection.execute(
                f"select distinct 'year=' || year({date_column}) from raw.{dataset.name} order by 1"
            ).fetchall()
            assert years == [year for (year,) in expected], dataset.name
    finally:
        connection.close()
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(RAW_DATASETS)  # no partial folders left


def test_a_new_export_replaces_the_old_files_and_an_empty_dataset_keeps_its_columns(raw_store, tmp_path):
    files = tmp_path / "files"
    stale = files / "prices" / "year=1999"
    stale.mkdir(parents=True)
    (stale / "old.parquet").write_bytes(b"not parquet")
    store = tmp_path / "store.duckdb"
    shutil.copyfile(raw_store, store)
    connection = connect(store)
    try:
        connection.execute("delete from raw.insider_trades")
        exported = {dataset.name: dataset for dataset in export_raw(connection, files)}
    finally:
        connection.close()
    assert not stale.exists()
    assert exported["insider_trades"].rows == 0 and exported["insider_trades"].files == 1
    with duckdb.connect() as reader:
        columns = [
            row[0] for row in reader.execute(f"describe select * from '{files}/insider_trades/*.parquet'").fetchall()
        ]
    assert columns[: len(RAW_DATASETS["insider_trades"].columns)] == list(RAW_DATASETS["insider_trades"].columns)


def test_the_command_prints_a_summary_and_refuses_a_store_without_raw_data(raw_store, tmp_path):
    result = run_module("ingest", "export", "--db", str(raw_store), "--to", str(tmp_path / "files"))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "exported" in result.stdout and "Parquet" in result.stdout
    assert (tmp_path / "files" / "prices").is_dir()
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    refused = run_module("ingest", "export", "--db", str(empty), "--to", str(tmp_path / "none"))
    assert "raw.prices" in one_line_error(refused) and not (tmp_path / "none").exists()


def test_spark_registers_the_datasets_the_export_writes(tmp_path):
    listed = compiled_sql("{{ raw_parquet_datasets() | join(',') }}", tmp_path)
    assert listed.strip().split(",") == list(RAW_DATASETS)

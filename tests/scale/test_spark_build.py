"""The same dbt project on Spark: `dbt build --target spark` (dbt-spark's session method, a local PySpark
session) reads the Parquet export of a small synthetic store, builds every model and passes every data test,
and its marts equal DuckDB's: every column of fct_features, fct_labels and fct_market_regimes, NULLs in the
same places, numbers within 1e-9 relative."""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import pytest
from helpers import dbt_build, run_dbt, run_job, run_module

from ingest import jobs

pytestmark = pytest.mark.slow

#: The marts compared, with their keys. fct_features is the versioned model's v1 table.
MARTS = {
    "fct_features_v1": ("ticker", "trade_date"),
    "fct_labels": ("ticker", "trade_date"),
    "fct_market_regimes": ("trade_date",),
}
#: Settings of the local Spark session for this three-ticker build (not the project's: they would not suit a large
#: build): one partition per shuffle, which is plenty for three tickers; no adaptive query execution, which re-plans
#: each query after its shuffles, nothing to gain with one partition; and the serial garbage collector, which does
#: not run a thread per core beside the test workers. Measured on this build alone: 162 s and 288 CPU-seconds with
#: the one partition, 125 s and 211 with all three (docs/testing.md).
SMALL_LOCAL_SPARK = {
    "FEATURE_STORE_SPARK_SHUFFLE_PARTITIONS": "1",
    "PYSPARK_SUBMIT_ARGS": "--conf spark.sql.adaptive.enabled=false pyspark-shell",
    "JAVA_TOOL_OPTIONS": "-XX:+UseSerialGC",
}
NUMERIC = ("DOUBLE", "FLOAT", "INTEGER", "BIGINT", "SMALLINT", "HUGEINT")
RELATIVE_TOLERANCE = 1e-9


@pytest.fixture(scope="module")
def builds(spark_ready, tmp_path_factory):
    """(DuckDB store, Spark's table folder, the Spark build's run results) for one small synthetic market."""
    folder = tmp_path_factory.mktemp("spark")
    db_path = folder / "store.duckdb"
    run_job(jobs.ingest_synthetic, db_path, seed=5, years=1.2, n_tickers=3, end=dt.date(2024, 12, 31))
    duck = dbt_build(db_path, folder / "duckdb")
    assert duck.returncode == 0, duck.stdout[-3000:]
    exported = run_module("ingest", "export", "--db", str(db_path), "--to", str(folder / "parquet"))
    assert exported.returncode == 0, exported.stderr[-2000:]
    spark_dir = folder / "spark"
    env = {
        "FEATURE_STORE_PARQUET": str(folder / "parquet"),
        "FEATURE_STORE_SPARK_DIR": str(spark_dir),
        **SMALL_LOCAL_SPARK,
    }
    spark = run_dbt(
        db_path, folder / "spark_dbt", "build", "--target", "spark", env=env, timeout=1800, own_process=True
    )
    assert spark.returncode == 0, spark.stdout[-6000:]
    results = json.loads((folder / "spark_dbt" / "target" / "run_results.json").read_text())
    return db_path, spark_dir / "tables", results


def test_every_model_and_data_test_builds_on_spark(builds):
    _, tables, results = builds
    statuses = {}
    for result in results["results"]:
        statuses.setdefault(result["unique_id"].split(".")[0], []).append(result["status"])
    assert set(statuses["model"]) == {"success"} and len(statuses["model"]) >= 25
    assert set(statuses["test"]) == {"pass"} and len(statuses["test"]) >= 200
    assert set(statuses["seed"]) == {"success"}
    for mart in MARTS:
        assert any((tables / "marts.db" / mart).glob("*.parquet")), mart


@pytest.mark.parametrize("mart", list(MARTS))
def test_spark_marts_equal_duckdb(builds, mart):
    db_path, tables, _ = builds
    keys = MARTS[mart]
    with duckdb.connect() as connection:
        connection.execute(f"attach '{db_path}' as duck (read_only)")
        connection.execute(f"create view spark as select * from read_parquet('{tables}/marts.db/{mart}/*.parquet')")
        expected = connection.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_catalog = 'duck' and table_schema = 'marts' and table_name = ? order by ordinal_position",
            [mart],
        ).fetchall()
        spark_columns = [row[0] for row in connection.execute("describe spark").fetchall()]
        assert sorted(spark_columns) == sorted(name for name, _ in expected)
        rows = connection.execute(f"select count(*) from duck.marts.{mart}").fetchall()[0][0]
        assert rows > 200 and connection.execute("select count(*) from spark").fetchall()[0][0] == rows
        on = " and ".join(f"d.{key} = s.{key}" for key in keys)
        joined = f"from duck.marts.{mart} as d join spark as s on {on}"
        assert connection.execute(f"select count(*) {joined}").fetchall()[0][0] == rows, "keys differ"
        for column, data_type in expected:
            if column in keys:
                continue
            null_places = connection.execute(
                f"select count(*) {joined} where (d.{column} is null) <> (s.{column} is null)"
            )
            assert null_places.fetchall()[0][0] == 0, f"{mart}.{column}: NULLs in different places"
            if data_type in NUMERIC:
                # Relative to the larger value, and to the column's typical size for values near zero (a MACD of
                # 1e-17 against 0 is the same number at the column's scale).
                scale = connection.execute(f"select coalesce(median(abs({column})), 0) from duck.marts.{mart}")
                scale = scale.fetchall()[0][0]
                difference = f"abs(d.{column} - s.{column})"
                size = f"greatest(abs(d.{column}), abs(s.{column}), ?)"
                worst = connection.execute(f"select max({difference} / {size}) {joined}", [max(scale, 1e-300)])
                worst = worst.fetchall()[0][0]
                assert worst is None or worst <= RELATIVE_TOLERANCE, f"{mart}.{column}: relative difference {worst}"
            else:
                differ = connection.execute(f"select count(*) {joined} where d.{column} is distinct from s.{column}")
                assert differ.fetchall()[0][0] == 0, f"{mart}.{column} ({data_type}) differs"

"""Each table Python writes is declared once (`store.tables.Table`): the store creates it exactly as declared,
adds the columns declared after a store was made, inserts name their columns, and the tables of a model and of
a daily run's day are derived from the declarations."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

from store import connect, create_tables, insert_frame, insert_row, insert_rows
from store.tables import ML_DAILY_RUNS, ML_METRICS, ML_PREDICTIONS, TABLES, Table, day_tables, model_tables


def declared_tables() -> list[Table]:
    return [table for tables in TABLES.values() for table in tables]


def test_every_table_is_created_with_the_declared_columns_types_and_key(tmp_path):
    with connect(tmp_path / "store.duckdb") as connection:
        for schema in TABLES:
            create_tables(connection, schema)
        for table in declared_tables():
            columns = connection.execute(
                "select column_name, data_type, is_nullable from duckdb_columns() "
                "where schema_name = ? and table_name = ? order by column_index",
                [table.schema, table.name],
            ).fetchall()
            assert [name for name, _, _ in columns] == list(table.columns), table.qualified
            for name, data_type, nullable in columns:
                declared = table.columns[name]
                assert declared.split()[0].upper() in data_type.upper(), (table.qualified, name, data_type)
                assert nullable == (name not in table.key and "not null" not in declared), (table.qualified, name)
            keys = connection.execute(
                "select constraint_column_names from duckdb_constraints() "
                "where schema_name = ? and table_name = ? and constraint_type = 'PRIMARY KEY'",
                [table.schema, table.name],
            ).fetchall()
            assert [tuple(row[0]) for row in keys] == ([table.key] if table.key else []), table.qualified


def test_a_store_made_before_a_column_was_declared_gets_it_and_keeps_its_rows(tmp_path):
    added = [table for table in declared_tables() if table.added]
    assert {table.qualified for table in added} >= {"raw.ingest_runs", "ml.predictions", "ml.daily_runs"}
    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as connection:
        for table in added:
            before = Table(
                table.schema,
                table.name,
                {name: sql for name, sql in table.columns.items() if name not in table.added},
                key=table.key,
            )
            connection.execute(f"create schema if not exists {table.schema}")
            connection.execute(before.ddl())
        connection.execute(
            "insert into ml.daily_runs (run_date, model_id, mode, started_at, finished_at, scored, "
            "resolved, calibration_method, seconds) values "
            "('2025-01-02', 'm', 'daily', now(), now(), 1, 0, 'identity', 0.5)"
        )
    with connect(path) as connection:
        for schema in ("raw", "ml"):
            create_tables(connection, schema)
        for table in added:
            names = [row[0] for row in connection.execute(f"describe {table.qualified}").fetchall()]
            assert names == list(table.columns), table.qualified
        row = connection.execute(f"select model_id, retrain_mode, trained_model_id from {ML_DAILY_RUNS.qualified}")
        assert row.fetchall() == [("m", None, None)]


def test_inserts_name_their_columns_and_refuse_a_column_the_table_lacks(tmp_path):
    with connect(tmp_path / "store.duckdb") as connection:
        create_tables(connection, "ml")
        # In any order: the values follow the names, not the table's column order.
        insert_row(connection, ML_METRICS, {"value": 0.5, "metric": "auc", "split": "test", "model_id": "m"})
        insert_rows(
            connection,
            ML_METRICS,
            [{"model_id": "m", "split": split, "metric": "auc", "value": None} for split in ("train", "validation")],
        )
        insert_rows(connection, ML_METRICS, [])
        stored = connection.execute("select split, metric, value from ml.metrics order by split").fetchall()
        assert stored == [("test", "auc", 0.5), ("train", "auc", None), ("validation", "auc", None)]
        with pytest.raises(ValueError, match="ml.metrics has no column auc"):
            insert_row(connection, ML_METRICS, {"model_id": "m", "auc": 0.5})
        with pytest.raises(ValueError, match="must all have the columns"):
            insert_rows(connection, ML_METRICS, [{"model_id": "m"}, {"split": "x"}])

        scores = pa.table(
            {
                "ticker": ["B", "A"],
                "model_id": ["m", "m"],
                "trade_date": pa.array([dt.date(2025, 1, 2)] * 2, pa.date32()),
                "raw_probability": [0.4, 0.6],
                "calibrated_probability": [0.45, 0.55],
                "rank_in_day": pa.array([2, 1], pa.int32()),
                "names_in_day": pa.array([2, 2], pa.int32()),
                "observation_id": pa.array([1, 2], pa.int64()),
                "scored_at": pa.array([dt.datetime(2025, 1, 2, 18)] * 2, pa.timestamp("us")),
            }
        )
        insert_frame(connection, ML_PREDICTIONS, scores)
        insert_frame(connection, ML_PREDICTIONS, pd.DataFrame(columns=["ticker"]))  # nothing to write
        rows = connection.execute("select ticker, rank_in_day, outcome from ml.predictions order by ticker")
        assert rows.fetchall() == [("A", 1, None), ("B", 2, None)]
        with pytest.raises(ValueError, match="has no column probability"):
            insert_frame(connection, ML_PREDICTIONS, pd.DataFrame({"probability": [0.5]}))


def test_a_models_tables_and_a_days_tables_come_from_the_declarations():
    assert {table.qualified for table in model_tables()} == {
        "ml.models",
        "ml.metrics",
        "ml.tuning",
        "ml.feature_importance",
        "ml.selected_features",
        "ml.calibrators",
        "ml.drift_baselines",
        "ml.drift_thresholds",
        "ml.model_status",
    }
    assert {(table.qualified, table.day_column) for table in day_tables()} == {
        ("ml.predictions", "trade_date"),
        ("ml.live_calibration", "as_of_date"),
        ("ml.live_performance", "as_of_date"),
        ("ml.drift_checks", "as_of_date"),
        ("ml.daily_runs", "run_date"),
    }
    # Every ml table with a model is either part of the model's record or a daily run's.
    for table in TABLES["ml"]:
        if "model_id" in table.columns:
            assert table.belongs_to_model or table.day_column, table.qualified


def test_a_declaration_naming_a_column_it_lacks_is_refused():
    with pytest.raises(ValueError, match="ml.x: day not among its columns"):
        Table("ml", "x", {"model_id": "varchar"}, day_column="day")
    with pytest.raises(ValueError, match="added columns must be its last ones"):
        Table("ml", "x", {"a": "varchar", "b": "varchar"}, added=("a",))

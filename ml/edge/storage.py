"""The `analysis` schema: what `python -m ml.backtest` measured, one run id per run, kept across runs.

Tables (their DDL is in `store.tables`; written in one transaction, so a failed run leaves nothing half written):
- `analysis.runs`: run id, time, model id, settings, test window, whether the mart still matches the data
  the model was trained on, report path, seconds.
- `analysis.verdicts`: the report's plain-words answers (question, yes/no, the numbers).
- `analysis.signal_edge`: the pooled signal edge (a copy of marts.fct_signal_edge at the time of the run).
- `analysis.factor_summary`, `analysis.factor_daily`, `analysis.factor_quantiles`: the factor view, with
  `factor_set` = features_full (whole labelled history), features_test (the model's test window) or model.
- `analysis.backtest_daily`, `analysis.backtest_tranches`, `analysis.backtest_summary`: the backtest, with
  `portfolio` = strategy_net, strategy_gross or benchmark.
- `analysis.reliability`: the reliability diagram's bins (raw and calibrated probability, test window).

The latest run: `select * from analysis.runs order by created_at desc limit 1`.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import duckdb
import pandas as pd

from ml.edge.results import EdgeAnalysis
from store import create_tables, transaction


def _insert(connection, table: str, frame: pd.DataFrame, run_id: str, **constants: str) -> None:
    """Append `frame` to `table` by column name, with the run id (and constant columns) added."""
    if frame.empty:
        return
    staged = frame.assign(run_id=run_id, **constants)
    connection.register("staged_frame", staged)
    try:
        connection.execute(f"insert into {table} by name select * from staged_frame")
    finally:
        connection.unregister("staged_frame")


def save_analysis(connection: duckdb.DuckDBPyConnection, analysis: EdgeAnalysis, report_path: Path | None) -> None:
    """Write one run's tables (module docstring) in one transaction."""
    run_id = analysis.run_id
    with transaction(connection):
        create_tables(connection, "analysis")
        connection.execute(
            "insert into analysis.runs values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                run_id,
                analysis.created_at,
                analysis.model_id,
                analysis.model_data_matches,
                analysis.settings.cost_bps,
                analysis.settings.top_fraction,
                analysis.settings.quantiles,
                analysis.test_first_date,
                analysis.test_last_date,
                json.dumps(asdict(analysis.settings), sort_keys=True),
                None if report_path is None else str(report_path),
                analysis.seconds,
            ],
        )
        connection.executemany(
            "insert into analysis.verdicts values (?, ?, ?, ?, ?)",
            [[run_id, i, v.question, v.answer, v.detail] for i, v in enumerate(analysis.verdicts, 1)],
        )
        _insert(connection, "analysis.signal_edge", analysis.signal_edge, run_id)
        for factor_set, results in analysis.factors.items():
            _insert(connection, "analysis.factor_summary", results.summary, run_id, factor_set=factor_set)
            _insert(connection, "analysis.factor_daily", results.daily, run_id, factor_set=factor_set)
            _insert(connection, "analysis.factor_quantiles", results.quantile_returns, run_id, factor_set=factor_set)
        for portfolio, result in (
            ("strategy_net", analysis.strategy),
            ("strategy_gross", analysis.strategy_gross),
            ("benchmark", analysis.benchmark),
        ):
            _insert(connection, "analysis.backtest_daily", result.daily, run_id, portfolio=portfolio)
            _insert(connection, "analysis.backtest_tranches", result.tranches, run_id, portfolio=portfolio)
        _insert(connection, "analysis.backtest_summary", analysis.summary, run_id)
        _insert(connection, "analysis.reliability", analysis.reliability, run_id)

"""The `analysis` schema: what `python -m ml.backtest` measured, one run id per run, kept across runs.

Tables (declared in `store.tables`; written in one transaction, so a failed run leaves nothing half written):
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

from ml.backtest.results import EdgeAnalysis
from store import Table, create_tables, insert_frame, insert_row, insert_rows, transaction
from store.tables import (
    ANALYSIS_BACKTEST_DAILY,
    ANALYSIS_BACKTEST_SUMMARY,
    ANALYSIS_BACKTEST_TRANCHES,
    ANALYSIS_FACTOR_DAILY,
    ANALYSIS_FACTOR_QUANTILES,
    ANALYSIS_FACTOR_SUMMARY,
    ANALYSIS_RELIABILITY,
    ANALYSIS_RUNS,
    ANALYSIS_SIGNAL_EDGE,
    ANALYSIS_VERDICTS,
)


def _insert(connection, table: Table, frame: pd.DataFrame, run_id: str, **constants: str) -> None:
    """Append `frame` to `table` by column name, with the run id (and constant columns) added."""
    insert_frame(connection, table, frame.assign(run_id=run_id, **constants))


def save_analysis(connection: duckdb.DuckDBPyConnection, analysis: EdgeAnalysis, report_path: Path | None) -> None:
    """Write one run's tables (module docstring) in one transaction."""
    run_id = analysis.run_id
    with transaction(connection):
        create_tables(connection, "analysis")
        insert_row(
            connection,
            ANALYSIS_RUNS,
            {
                "run_id": run_id,
                "created_at": analysis.created_at,
                "model_id": analysis.model_id,
                "model_data_matches": analysis.model_data_matches,
                "cost_bps": analysis.settings.cost_bps,
                "top_fraction": analysis.settings.top_fraction,
                "quantiles": analysis.settings.quantiles,
                "test_first_date": analysis.test_first_date,
                "test_last_date": analysis.test_last_date,
                "settings": json.dumps(asdict(analysis.settings), sort_keys=True),
                "report_path": None if report_path is None else str(report_path),
                "seconds": analysis.seconds,
            },
        )
        insert_rows(
            connection,
            ANALYSIS_VERDICTS,
            (
                {"run_id": run_id, "position": i, "question": v.question, "answer": v.answer, "detail": v.detail}
                for i, v in enumerate(analysis.verdicts, 1)
            ),
        )
        _insert(connection, ANALYSIS_SIGNAL_EDGE, analysis.signal_edge, run_id)
        for factor_set, results in analysis.factors.items():
            _insert(connection, ANALYSIS_FACTOR_SUMMARY, results.summary, run_id, factor_set=factor_set)
            _insert(connection, ANALYSIS_FACTOR_DAILY, results.daily, run_id, factor_set=factor_set)
            _insert(connection, ANALYSIS_FACTOR_QUANTILES, results.quantile_returns, run_id, factor_set=factor_set)
        for portfolio, result in (
            ("strategy_net", analysis.strategy),
            ("strategy_gross", analysis.strategy_gross),
            ("benchmark", analysis.benchmark),
        ):
            _insert(connection, ANALYSIS_BACKTEST_DAILY, result.daily, run_id, portfolio=portfolio)
            _insert(connection, ANALYSIS_BACKTEST_TRANCHES, result.tranches, run_id, portfolio=portfolio)
        _insert(connection, ANALYSIS_BACKTEST_SUMMARY, analysis.summary, run_id)
        _insert(connection, ANALYSIS_RELIABILITY, analysis.reliability, run_id)

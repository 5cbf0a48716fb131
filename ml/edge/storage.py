"""The `analysis` schema: what `python -m ml.backtest` measured, one run id per run, kept across runs.

Tables (written in one transaction, so a failed run leaves nothing half written):
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

import pandas as pd

from ingest.warehouse import transaction
from ml.edge import EdgeAnalysis
from ml.registry import create_tables, open_warehouse

DDL = """
create schema if not exists analysis;
create table if not exists analysis.runs (
    run_id varchar primary key,
    created_at timestamp not null,
    model_id varchar not null,
    model_data_matches boolean not null,
    cost_bps double not null,
    top_fraction double not null,
    quantiles integer not null,
    test_first_date date not null,
    test_last_date date not null,
    settings varchar not null,
    report_path varchar,
    seconds double
);
create table if not exists analysis.verdicts (
    run_id varchar not null,
    position integer not null,
    question varchar not null,
    answer boolean,
    detail varchar not null,
    primary key (run_id, position)
);
create table if not exists analysis.signal_edge (
    run_id varchar not null,
    score_name varchar not null,
    threshold double,
    horizon_days integer,
    n_days bigint,
    n_high bigint,
    n_low bigint,
    mean_high double,
    mean_low double,
    edge double,
    standard_error double,
    t_stat double,
    tickers bigint,
    tickers_with_edge bigint,
    tickers_positive bigint,
    share_tickers_positive double,
    tickers_significant_positive bigint,
    tickers_significant_negative bigint,
    primary key (run_id, score_name)
);
create table if not exists analysis.factor_summary (
    run_id varchar not null,
    factor_set varchar not null,
    factor varchar not null,
    days bigint,
    ic_mean double,
    ic_std double,
    ic_t double,
    icir double,
    rank_ic_mean double,
    rank_ic_std double,
    rank_ic_t double,
    rank_icir double,
    top_minus_bottom double,
    top_minus_bottom_t double,
    top_turnover double,
    top_turnover_horizon double,
    primary key (run_id, factor_set, factor)
);
create table if not exists analysis.factor_daily (
    run_id varchar not null,
    factor_set varchar not null,
    factor varchar not null,
    trade_date date not null,
    names bigint,
    ic double,
    rank_ic double,
    top_minus_bottom double,
    top_turnover double
);
create table if not exists analysis.factor_quantiles (
    run_id varchar not null,
    factor_set varchar not null,
    factor varchar not null,
    quantile integer not null,
    mean_return double,
    days bigint
);
create table if not exists analysis.backtest_daily (
    run_id varchar not null,
    portfolio varchar not null,
    trade_date date not null,
    gross_return double,
    net_return double,
    turnover double,
    cost double,
    invested double,
    nav_gross double,
    nav_net double,
    primary key (run_id, portfolio, trade_date)
);
create table if not exists analysis.backtest_tranches (
    run_id varchar not null,
    portfolio varchar not null,
    signal_date date not null,
    names bigint,
    tranche_return double
);
create table if not exists analysis.backtest_summary (
    run_id varchar not null,
    portfolio varchar not null,
    days double,
    cumulative_return double,
    annual_return double,
    annual_volatility double,
    sharpe double,
    max_drawdown double,
    positive_days double,
    hit_rate double,
    beat_benchmark_rate double,
    mean_turnover double,
    primary key (run_id, portfolio)
);
create table if not exists analysis.reliability (
    run_id varchar not null,
    probability varchar not null,
    bin integer not null,
    rows bigint,
    mean_predicted double,
    observed_rate double,
    lower double,
    upper double
);
"""


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


def save_analysis(db_path: Path, analysis: EdgeAnalysis, report_path: Path | None) -> None:
    """Write one run's tables (module docstring) in one transaction."""
    connection = open_warehouse(db_path)
    run_id = analysis.run_id
    try:
        with transaction(connection):
            create_tables(connection, DDL)
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
                _insert(
                    connection, "analysis.factor_quantiles", results.quantile_returns, run_id, factor_set=factor_set
                )
            for portfolio, result in (
                ("strategy_net", analysis.strategy),
                ("strategy_gross", analysis.strategy_gross),
                ("benchmark", analysis.benchmark),
            ):
                _insert(connection, "analysis.backtest_daily", result.daily, run_id, portfolio=portfolio)
                _insert(connection, "analysis.backtest_tranches", result.tranches, run_id, portfolio=portfolio)
            _insert(connection, "analysis.backtest_summary", analysis.summary, run_id)
            _insert(connection, "analysis.reliability", analysis.reliability, run_id)
    finally:
        connection.close()

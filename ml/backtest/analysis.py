"""Edge analysis behind `python -m ml.backtest`: do the signals predict forward returns, after costs?

Three views, each answering the question for a different kind of signal, all on data the store holds:

1. **Signal edge** of the volume-flow scores, per ticker and pooled: read from the dbt marts
   `marts.fct_signal_edge` and `marts.fct_signal_edge_by_ticker` (SQL; scores, threshold and horizon are
   dbt vars), whole history, Newey-West / Driscoll-Kraay t-statistics.
2. **Factor view** (ml.factors, alphalens-style): daily cross-sectional IC and rank IC, quintile returns,
   top-minus-bottom spread and top-quintile turnover of every feature (whole labelled history, and the
   test window alone) and of the model's probability (test window only).
3. **Model backtest** (ml.backtest.portfolio) on the model's **test window only**, the dates the model never
   saw in any fitted step: each day buy the top decile by calibrated probability (ties broken by the raw
   model score, which orders the same way), hold for the label horizon in as many staggered sleeves, pay
   `cost_bps` per side; the benchmark is the equal-weight universe (every scored name, no costs).

Everything is stored in the `analysis` schema (ml.backtest.storage) under one run id, and rendered as one
HTML file (ml.backtest.report) with plain-words verdicts.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable

import duckdb
import pandas as pd

from ml.backtest.portfolio import simulate
from ml.backtest.reads import read_daily_returns, read_model_metrics, read_signal_edge
from ml.backtest.results import EdgeAnalysis, EdgeSettings
from ml.backtest.statistics import backtest_summary, reliability_table
from ml.backtest.verdicts import build_verdicts
from ml.errors import MLError
from ml.factors import FactorResults, factor_analysis
from ml.train.data import FORWARD_RETURN, LABEL, RANK_SUFFIX, label_horizon, load_training_examples
from ml.train.registry import load_model_row, trained_model_from_row

Reporter = Callable[[str], None]

MODEL_FACTORS = ("model_probability", "model_score")


def _quiet(_message: str) -> None:
    return None


def run_edge_analysis(
    connection: duckdb.DuckDBPyConnection,
    *,
    model_id: str | None = None,
    settings: EdgeSettings | None = None,
    report: Reporter = _quiet,
) -> EdgeAnalysis:
    """Measure the three views (module docstring) on the store `connection` has open; nothing is written here."""
    settings = settings or EdgeSettings()
    started = time.perf_counter()
    report("reading the model, the signal-edge marts and daily returns")
    row = load_model_row(connection, model_id)
    model_id = row["model_id"]
    test_first = pd.Timestamp(row["splits"]["test"]["first_date"])
    test_last = pd.Timestamp(row["splits"]["test"]["last_date"])
    pooled, by_ticker = read_signal_edge(connection)
    returns = read_daily_returns(connection, test_first)
    metrics = read_model_metrics(connection, model_id)
    label = row["params"].get("label", LABEL)  # models stored before the label was a choice predict label_up_5d
    horizon = label_horizon(connection, label)
    data = load_training_examples(connection, label=label)
    frame = data.frame
    model_data_matches = data.fingerprint() == row["data_fingerprint"]
    test = frame[(frame["trade_date"] >= test_first) & (frame["trade_date"] <= test_last)].copy()
    if test.empty:
        raise MLError(
            f"the mart has no labelled rows in model {model_id}'s test window ({test_first:%Y-%m-%d} to "
            f"{test_last:%Y-%m-%d}): train a model on this store with `python -m ml.train`."
        )

    report(f"scoring the test window with model {model_id} ({len(test):,} rows)")
    model = trained_model_from_row(row)
    test["model_score"] = model.predict_proba(test, calibrated=False)
    test["model_probability"] = model.calibrator.calibrate(test["model_score"].to_numpy())

    # The stock-level features as the mart holds them: a rank within the day has the same rank IC.
    features = [column for column in data.feature_columns if not column.endswith(RANK_SUFFIX)]
    report(f"factor view: {len(features)} features over {frame['trade_date'].nunique():,} days, and the model")

    def view(rows: pd.DataFrame, columns: list[str]) -> FactorResults:
        return factor_analysis(
            rows, columns, return_column=FORWARD_RETURN, quantiles=settings.quantiles, horizon=horizon
        )

    factors = {
        "features_full": view(frame, features),
        "features_test": view(test, features),
        "model": view(test, list(MODEL_FACTORS)),
    }

    report(
        f"backtest: top {settings.top_fraction:.0%} by calibrated probability, {horizon}-day sleeves, "
        f"{settings.cost_bps:g} bps per side, {test_first:%Y-%m-%d} to {test_last:%Y-%m-%d}"
    )
    signals = test[["trade_date", "ticker", "model_probability", "model_score"]]
    common = {"horizon": horizon, "score": "model_probability", "tiebreak": "model_score"}
    strategy = simulate(signals, returns, top_fraction=settings.top_fraction, cost_bps=settings.cost_bps, **common)
    gross = simulate(signals, returns, top_fraction=settings.top_fraction, cost_bps=0.0, **common)
    benchmark = simulate(signals, returns, top_fraction=1.0, cost_bps=0.0, **common)
    summary = backtest_summary(strategy, gross, benchmark, settings.cost_bps)

    labels = test[label].to_numpy(dtype=float)
    reliability = pd.concat(
        [
            reliability_table(test[column].to_numpy(), labels, settings.reliability_bins).assign(probability=name)
            for name, column in (("calibrated", "model_probability"), ("raw", "model_score"))
        ],
        ignore_index=True,
    )

    analysis = EdgeAnalysis(
        run_id=f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}",
        created_at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
        model_id=model_id,
        settings=settings,
        horizon=horizon,
        test_first_date=test_first.date(),
        test_last_date=test_last.date(),
        model_data_matches=model_data_matches,
        model_metrics=metrics,
        signal_edge=pooled,
        signal_edge_by_ticker=by_ticker,
        factors=factors,
        strategy=strategy,
        strategy_gross=gross,
        benchmark=benchmark,
        summary=summary,
        reliability=reliability,
    )
    analysis.verdicts = build_verdicts(analysis)
    analysis.seconds = time.perf_counter() - started
    return analysis

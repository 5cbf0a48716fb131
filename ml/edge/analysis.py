"""Edge analysis behind `python -m ml.backtest`: do the signals predict 5-day returns, after costs?

Three views, each answering the question for a different kind of signal, all on data the store holds:

1. **Signal edge** of the volume-flow scores, per ticker and pooled: read from the dbt marts
   `marts.fct_signal_edge` and `marts.fct_signal_edge_by_ticker` (SQL; scores, threshold and horizon are
   dbt vars), whole history, Newey-West / Driscoll-Kraay t-statistics.
2. **Factor view** (ml.factors, alphalens-style): daily cross-sectional IC and rank IC, quintile returns,
   top-minus-bottom spread and top-quintile turnover of every feature (whole labelled history, and the
   test window alone) and of the model's probability (test window only).
3. **Model backtest** (ml.portfolio) on the model's **test window only**, the dates the model never
   saw in any fitted step: each day buy the top decile by calibrated probability (ties broken by the raw
   model score, which orders the same way), hold 5 days in 5 staggered sleeves, pay `cost_bps` per side;
   the benchmark is the equal-weight universe (every scored name, no costs).

Everything is stored in the `analysis` schema (ml.edge_store) under one run id, and rendered as one
HTML file (ml.report) with plain-words verdicts.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from ml.data import load_training_examples
from ml.errors import InvalidInputError, MLError
from ml.factors import FactorResults, factor_analysis
from ml.pipeline import trained_model_from_row
from ml.portfolio import BacktestResult, performance, simulate
from ml.registry import load_model_row, open_warehouse
from ml.splits import LABEL_HORIZON_DAYS

Reporter = Callable[[str], None]

#: The label the factor view and the backtest use: the 5-day forward return of fct_labels.
RETURN_COLUMN = "fwd_ret_5d"
MODEL_FACTORS = ("model_probability", "model_score")


def _quiet(_message: str) -> None:
    return None


@dataclass(frozen=True)
class EdgeSettings:
    """What a run measures against: costs, the traded fraction and the verdict thresholds."""

    cost_bps: float = 10.0
    top_fraction: float = 0.1
    quantiles: int = 5
    edge_threshold: float = 0.01
    auc_threshold: float = 0.55
    reliability_bins: int = 10

    def __post_init__(self) -> None:
        if not 0 <= self.cost_bps < 10_000:
            raise InvalidInputError(f"--cost-bps must be between 0 and 10000 basis points, got {self.cost_bps}")
        if not 0 < self.top_fraction <= 1:
            raise InvalidInputError(f"--top-fraction must be in (0, 1], got {self.top_fraction}")


@dataclass(frozen=True)
class Verdict:
    """One plain-words answer: the question, yes/no, and the numbers behind it."""

    question: str
    answer: bool | None
    detail: str

    @property
    def word(self) -> str:
        return {True: "yes", False: "no", None: "n/a"}[self.answer]


@dataclass
class EdgeAnalysis:
    """Everything one run measured (stored by ml.edge_store, drawn by ml.report)."""

    run_id: str
    created_at: dt.datetime
    model_id: str
    settings: EdgeSettings
    test_first_date: dt.date
    test_last_date: dt.date
    model_data_matches: bool
    model_metrics: dict[str, float | None]
    signal_edge: pd.DataFrame
    signal_edge_by_ticker: pd.DataFrame
    factors: dict[str, FactorResults]
    strategy: BacktestResult
    strategy_gross: BacktestResult
    benchmark: BacktestResult
    summary: pd.DataFrame
    reliability: pd.DataFrame
    verdicts: list[Verdict] = field(default_factory=list)
    seconds: float = 0.0


def _read_store(
    db_path: Path, model_id: str, first_date: pd.Timestamp
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, float | None]]:
    """The signal-edge marts, every ticker's daily returns from `first_date` on, and the model's stored AUC
    and rank IC per split (as `python -m ml.train` wrote them)."""
    connection = open_warehouse(db_path, read_only=True)
    try:
        try:
            pooled = connection.sql("select * from marts.fct_signal_edge order by score_name").df()
            by_ticker = connection.sql("select * from marts.fct_signal_edge_by_ticker order by score_name, ticker").df()
        except duckdb.CatalogException:
            raise MLError(f"{db_path} has no marts.fct_signal_edge: run `dbt build` first.") from None
        returns = connection.sql(
            "select trade_date, ticker, ret_1d from marts.fct_features where ret_1d is not null and trade_date >= ?",
            params=[first_date.date()],
        ).df()
        rows = connection.execute(
            "select split, metric, value from ml.metrics where model_id = ? and metric in ('auc', 'rank_ic')",
            [model_id],
        ).fetchall()
    finally:
        connection.close()
    returns["trade_date"] = pd.to_datetime(returns["trade_date"])
    return pooled, by_ticker, returns, {f"{split}_{metric}": value for split, metric, value in rows}


def reliability_table(probabilities: np.ndarray, outcomes: np.ndarray, n_bins: int) -> pd.DataFrame:
    """Equal-count bins of the predicted probability: mean prediction vs observed up-rate per bin."""
    frame = pd.DataFrame({"p": probabilities, "y": outcomes}).dropna()
    ranks = frame["p"].rank(method="first")
    frame["bin"] = np.minimum(((ranks - 1) * n_bins / len(frame)).astype(int), n_bins - 1) + 1
    table = frame.groupby("bin").agg(
        rows=("y", "size"),
        mean_predicted=("p", "mean"),
        observed_rate=("y", "mean"),
        lower=("p", "min"),
        upper=("p", "max"),
    )
    return table.reset_index()


def _tranche_rates(
    result: BacktestResult, benchmark: BacktestResult | None, round_trip_cost: float
) -> dict[str, float]:
    """Share of 5-day tranches that made money net of a round trip's cost, and that beat the benchmark's
    tranche of the same day (NaN for the benchmark itself: `benchmark` None)."""
    tranches = result.tranches.set_index("signal_date")["tranche_return"].dropna()
    net = tranches - round_trip_cost
    if tranches.empty:
        return {"hit_rate": float("nan"), "beat_benchmark_rate": float("nan")}
    beat = float("nan")
    if benchmark is not None:
        reference = benchmark.tranches.set_index("signal_date")["tranche_return"].reindex(tranches.index)
        beat = float((net > reference).mean())
    return {"hit_rate": float((net > 0).mean()), "beat_benchmark_rate": beat}


def _summary(
    strategy: BacktestResult, gross: BacktestResult, benchmark: BacktestResult, cost_bps: float
) -> pd.DataFrame:
    rows = []
    for name, result, cost, reference in (
        ("strategy_net", strategy, cost_bps, benchmark),
        ("strategy_gross", gross, 0.0, benchmark),
        ("benchmark", benchmark, 0.0, None),
    ):
        stats = performance(result.daily["net_return"])
        stats.update(_tranche_rates(result, reference, 2 * cost / 10_000))
        stats["mean_turnover"] = float(result.daily["turnover"].mean())
        rows.append({"portfolio": name, **stats})
    return pd.DataFrame(rows)


def percent(value: float | None, digits: int = 2, *, signed: bool = True, missing: str = "n/a") -> str:
    """A fraction as a percentage (+1.23%), `missing` for None/NaN; never "-0.00%"."""
    if value is None or pd.isna(value):
        return missing
    rounded = round(value * 100, digits) + 0.0  # + 0.0 turns -0.0 into 0.0
    return f"{rounded:{'+' if signed else ''}.{digits}f}%"


def number(value: float | None, digits: int = 2, *, missing: str = "n/a") -> str:
    """A number with `digits` decimals (a whole number with thousands separators for 0), `missing` for None/NaN."""
    if value is None or pd.isna(value):
        return missing
    return f"{int(value):,}" if digits == 0 else f"{value:.{digits}f}"


def build_verdicts(analysis: EdgeAnalysis) -> list[Verdict]:
    """The plain-words answers at the top of the report (and in `analysis.verdicts`)."""
    settings = analysis.settings
    verdicts = []
    for row in analysis.signal_edge.itertuples():
        horizon = int(row.horizon_days)
        significant = row.t_stat is not None and not pd.isna(row.t_stat) and abs(row.t_stat) > 2
        verdicts.append(
            Verdict(
                f"{row.score_name} > {row.threshold:g}: edge > {settings.edge_threshold:.0%} on {horizon}-day returns",
                None if pd.isna(row.edge) else bool(row.edge > settings.edge_threshold),
                f"pooled edge {percent(row.edge)} (t {number(row.t_stat)}, "
                f"{'significant' if significant else 'not significant'} at |t| > 2); "
                f"{percent(row.share_tickers_positive, 0, signed=False)} "
                f"of {row.tickers_with_edge} tickers positive; a round trip costs "
                f"{2 * settings.cost_bps / 100:.2f}%",
            )
        )
    for split in ("validation", "test"):
        auc = analysis.model_metrics.get(f"{split}_auc")
        verdicts.append(
            Verdict(
                f"{split.capitalize()} AUC > {settings.auc_threshold}",
                None if auc is None else bool(auc > settings.auc_threshold),
                f"{split} AUC {number(auc, 3)} (model {analysis.model_id})",
            )
        )
    model = analysis.factors["model"].summary.set_index("factor").loc["model_probability"]
    if model["days"] == 0:
        ranks = Verdict(
            "Model probability ranks stocks: rank IC > 0 with t > 2 on the test window",
            False,
            "no test day has probabilities that differ across stocks: the model predicts one probability per "
            "day (it leans on market-wide inputs), so it cannot rank stocks",
        )
    else:
        ranks = Verdict(
            "Model probability ranks stocks: rank IC > 0 with t > 2 on the test window",
            bool(model["rank_ic_mean"] > 0 and model["rank_ic_t"] > 2),
            f"mean daily rank IC {number(model['rank_ic_mean'], 4)} (Newey-West t {number(model['rank_ic_t'])}, "
            f"{int(model['days'])} days); top-minus-bottom quintile {percent(model['top_minus_bottom'])} per 5 days",
        )
    verdicts.append(ranks)
    summary = analysis.summary.set_index("portfolio")
    net, bench = summary.loc["strategy_net"], summary.loc["benchmark"]
    held = analysis.strategy.tranches["names"].median()
    universe = analysis.benchmark.tranches["names"].median()
    beats = None
    if not pd.isna(net["annual_return"]) and not pd.isna(bench["annual_return"]):
        beats = bool(net["annual_return"] > bench["annual_return"])
    verdicts.append(
        Verdict(
            f"Top {settings.top_fraction:.0%} by probability beats the equal-weight universe after "
            f"{settings.cost_bps:g} bps per side",
            beats,
            f"annual return {percent(net['annual_return'], 1)} vs {percent(bench['annual_return'], 1)}; Sharpe "
            f"{number(net['sharpe'])} vs {number(bench['sharpe'])}; max drawdown {percent(net['max_drawdown'], 1)} vs "
            f"{percent(bench['max_drawdown'], 1)}; holds {held:.0f} of {universe:.0f} stocks a day (median) "
            f"({analysis.test_first_date} to {analysis.test_last_date})",
        )
    )
    return verdicts


def run_edge_analysis(
    db_path: Path,
    *,
    model_id: str | None = None,
    settings: EdgeSettings | None = None,
    report: Reporter = _quiet,
) -> EdgeAnalysis:
    """Measure the three views (module docstring) on the store in `db_path`; nothing is written here."""
    settings = settings or EdgeSettings()
    started = time.perf_counter()
    report("reading the model, the signal-edge marts and daily returns")
    row = load_model_row(db_path, model_id)
    model_id = row["model_id"]
    test_first = pd.Timestamp(row["splits"]["test"]["first_date"])
    test_last = pd.Timestamp(row["splits"]["test"]["last_date"])
    pooled, by_ticker, returns, metrics = _read_store(db_path, model_id, test_first)
    data = load_training_examples(db_path)
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

    features = data.feature_columns
    report(f"factor view: {len(features)} features over {frame['trade_date'].nunique():,} days, and the model")

    def view(rows: pd.DataFrame, columns: list[str]) -> FactorResults:
        return factor_analysis(
            rows, columns, return_column=RETURN_COLUMN, quantiles=settings.quantiles, horizon=LABEL_HORIZON_DAYS
        )

    factors = {
        "features_full": view(frame, features),
        "features_test": view(test, features),
        "model": view(test, list(MODEL_FACTORS)),
    }

    report(
        f"backtest: top {settings.top_fraction:.0%} by calibrated probability, {LABEL_HORIZON_DAYS}-day sleeves, "
        f"{settings.cost_bps:g} bps per side, {test_first:%Y-%m-%d} to {test_last:%Y-%m-%d}"
    )
    signals = test[["trade_date", "ticker", "model_probability", "model_score"]]
    common = {"horizon": LABEL_HORIZON_DAYS, "score": "model_probability", "tiebreak": "model_score"}
    strategy = simulate(signals, returns, top_fraction=settings.top_fraction, cost_bps=settings.cost_bps, **common)
    gross = simulate(signals, returns, top_fraction=settings.top_fraction, cost_bps=0.0, **common)
    benchmark = simulate(signals, returns, top_fraction=1.0, cost_bps=0.0, **common)
    summary = _summary(strategy, gross, benchmark, settings.cost_bps)

    labels = test["label_up_5d"].to_numpy(dtype=float)
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

"""What one edge analysis measured: its settings, the plain-words verdicts, and every table (`EdgeAnalysis`).

Built by `ml.backtest.analysis`, stored by `ml.backtest.storage`, drawn by `ml.backtest.report`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from ml.backtest.portfolio import BacktestResult
from ml.errors import InvalidInputError
from ml.factors import FactorResults


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
    """Everything one run measured (stored by ml.backtest.storage, drawn by ml.backtest.report); `horizon` is the
    label's horizon in trading days (the factor view's forward return, the backtest's holding period)."""

    run_id: str
    created_at: dt.datetime
    model_id: str
    settings: EdgeSettings
    horizon: int
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

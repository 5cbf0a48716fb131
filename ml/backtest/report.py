"""The edge report: one self-contained HTML file (charts as inline SVG, no scripts, no network).

Sections, in the order a reader asks the questions: the verdicts; the volume-flow signal edge; the model
backtest against the equal-weight universe; the model's factor view (IC over time, quintile returns) and
its reliability diagram; the factor view of every feature.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd

from ml.backtest.results import EdgeAnalysis
from ml.formatting import number, percent
from ml.report_page import STYLE, subplots, write_page
from ml.report_page import figure as _figure
from ml.report_page import svg as _svg
from ml.report_page import table as _table

COLORS = {"strategy_net": "#1f77b4", "strategy_gross": "#9ecae1", "benchmark": "#7f7f7f"}


def _pct(value, digits: int = 2) -> str:
    return percent(value, digits, missing="")


def _share(value, digits: int = 0) -> str:
    return percent(value, digits, signed=False, missing="")


def _num(value, digits: int = 2) -> str:
    return number(value, digits, missing="")


def _edge_chart(edge: pd.DataFrame, threshold: float) -> str:
    figure, axis = subplots(7.5, 3.2)
    positions = np.arange(len(edge))
    values = edge["edge"].to_numpy(dtype=float) * 100
    errors = 2 * edge["standard_error"].to_numpy(dtype=float) * 100
    axis.bar(positions, values, yerr=errors, capsize=4, color=["#2e7d32" if v > 0 else "#c62828" for v in values])
    axis.axhline(0, color="black", linewidth=0.8)
    axis.axhline(threshold * 100, color="#555", linestyle="--", linewidth=0.8, label=f"{threshold:.0%} edge")
    axis.set_xticks(positions, edge["score_name"])
    axis.set_ylabel("edge, % per horizon")
    axis.legend(loc="best", fontsize=8)
    axis.grid(axis="y", alpha=0.3)
    return _svg(figure)


def _cumulative_chart(analysis: EdgeAnalysis) -> str:
    figure, axis = subplots(10, 3.8)
    for name, result, label in (
        ("strategy_net", analysis.strategy, f"top {analysis.settings.top_fraction:.0%}, net of costs"),
        ("strategy_gross", analysis.strategy_gross, f"top {analysis.settings.top_fraction:.0%}, before costs"),
        ("benchmark", analysis.benchmark, "equal-weight universe"),
    ):
        daily = result.daily
        axis.plot(pd.to_datetime(daily["trade_date"]), (daily["nav_net"] - 1) * 100, label=label, color=COLORS[name])
    axis.axhline(0, color="black", linewidth=0.6)
    axis.set_ylabel("cumulative return, %")
    axis.legend(loc="upper left", fontsize=8)
    axis.grid(alpha=0.3)
    figure.autofmt_xdate()
    return _svg(figure)


def _ic_chart(daily: pd.DataFrame, factors: list[str], window: int, title: str) -> str:
    figure, axes = subplots(10, 2.2 * len(factors), len(factors), 1, sharex=True, squeeze=False)
    for axis, factor in zip(axes[:, 0], factors, strict=True):
        rows = daily[daily["factor"] == factor].sort_values("trade_date")
        dates = pd.to_datetime(rows["trade_date"])
        axis.bar(dates, rows["rank_ic"], width=1.0, color="#c6dbef", label="daily rank IC")
        axis.plot(
            dates,
            rows["rank_ic"].rolling(window, min_periods=max(window // 3, 1)).mean(),
            color="#08519c",
            label=f"{window}-day mean",
        )
        axis.axhline(0, color="black", linewidth=0.6)
        axis.set_ylabel(factor, fontsize=8)
        axis.grid(alpha=0.3)
    axes[0, 0].legend(loc="upper left", fontsize=8)
    axes[0, 0].set_title(title, fontsize=10)
    figure.autofmt_xdate()
    return _svg(figure)


def _quantile_chart(quantiles: pd.DataFrame, factors: list[str], title: str, horizon: int) -> str:
    columns = min(len(factors), 3)
    rows = int(np.ceil(len(factors) / columns))
    figure, axes = subplots(3.4 * columns, 2.6 * rows, rows, columns, squeeze=False)
    for axis in axes.flat[len(factors) :]:
        axis.set_visible(False)
    for axis, factor in zip(axes.flat, factors, strict=False):
        data = quantiles[quantiles["factor"] == factor].sort_values("quantile")
        values = data["mean_return"].to_numpy(dtype=float) * 100
        axis.bar(data["quantile"].astype(str), values, color=["#2e7d32" if v > 0 else "#c62828" for v in values])
        axis.axhline(0, color="black", linewidth=0.6)
        axis.set_title(factor, fontsize=9)
        axis.set_xlabel("quintile (1 = lowest)", fontsize=8)
        axis.set_ylabel(f"mean {horizon}-day return, %", fontsize=8)
        axis.tick_params(labelsize=8)
        axis.grid(axis="y", alpha=0.3)
    if len(factors) > 1:
        figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    return _svg(figure)


def _reliability_chart(reliability: pd.DataFrame, horizon: int) -> str:
    figure, axis = subplots(4.8, 4.4)
    for name, marker, color in (("raw", "o", "#9ecae1"), ("calibrated", "s", "#08519c")):
        rows = reliability[reliability["probability"] == name].sort_values("bin")
        axis.plot(rows["mean_predicted"], rows["observed_rate"], marker=marker, color=color, label=name)
    low = float(np.nanmin(reliability[["mean_predicted", "observed_rate"]].to_numpy()))
    high = float(np.nanmax(reliability[["mean_predicted", "observed_rate"]].to_numpy()))
    span = [max(0.0, low - 0.02), min(1.0, high + 0.02)]
    axis.plot(span, span, linestyle="--", color="black", linewidth=0.8, label="perfect calibration")
    axis.set_xlabel("mean predicted probability (bin)")
    axis.set_ylabel(f"observed share of {horizon}-day up moves")
    axis.legend(fontsize=8)
    axis.grid(alpha=0.3)
    return _svg(figure)


def _factor_formats(horizon: int) -> dict[str, tuple]:
    """The columns of a factor table, with the label horizon in the spread's header."""
    return {
        "factor": ("factor", str),
        "days": ("days", lambda v: _num(v, 0)),
        "ic_mean": ("IC", lambda v: _num(v, 4)),
        "ic_t": ("IC t", _num),
        "rank_ic_mean": ("rank IC", lambda v: _num(v, 4)),
        "rank_ic_t": ("rank IC t", _num),
        "rank_icir": ("rank ICIR", _num),
        "top_minus_bottom": (f"Q5 - Q1 ({horizon}d)", _pct),
        "top_minus_bottom_t": ("Q5 - Q1 t", _num),
        "top_turnover": ("Q5 turnover (1d)", lambda v: _share(v, 0)),
    }


def render_report(analysis: EdgeAnalysis, database: str) -> str:
    """The report as one HTML string (`database`: the store's path, shown in the header)."""
    parts = [
        *_header(analysis, database),
        *_verdicts(analysis),
        *_signal_edge_section(analysis),
        *_backtest_section(analysis),
        *_model_factor_section(analysis),
        *_features_section(analysis),
    ]
    parts.append(
        "<p class='meta'>Tables behind this report: schema <code>analysis</code> (runs, verdicts, signal_edge, "
        "factor_summary, factor_daily, factor_quantiles, backtest_daily, backtest_tranches, backtest_summary, "
        f"reliability), run id <code>{html.escape(analysis.run_id)}</code>.</p></body></html>"
    )
    return "\n".join(parts)


def _header(analysis: EdgeAnalysis, database: str) -> list[str]:
    """The title, the run's settings and a warning when the mart changed since training."""
    settings, horizon = analysis.settings, analysis.horizon
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Edge report: {html.escape(analysis.model_id)}</title><style>{STYLE}</style></head><body>",
        f"<h1>Do the signals predict {horizon}-day returns?</h1>",
        f"<p class='meta'>store {html.escape(database)} &middot; model {html.escape(analysis.model_id)} &middot; "
        f"run {html.escape(analysis.run_id)} ({analysis.created_at:%Y-%m-%d %H:%M} UTC) &middot; "
        f"test window {analysis.test_first_date} to {analysis.test_last_date} &middot; "
        f"costs {settings.cost_bps:g} bps per side</p>",
    ]
    if not analysis.model_data_matches:
        parts.append(
            "<p class='warning'>The feature mart has changed since this model was trained (its data fingerprint "
            "differs). The test window is still defined by dates, but retrain (<code>python -m ml.train</code>) "
            "before trusting the model's numbers.</p>"
        )
    return parts


def _verdicts(analysis: EdgeAnalysis) -> list[str]:
    """The plain-words answers."""
    parts: list[str] = []
    parts.append("<h2>Verdicts</h2><table class='verdicts'><tbody>")
    for verdict in analysis.verdicts:
        css = {"yes": "yes", "no": "no"}.get(verdict.word, "na")
        parts.append(
            f"<tr><td>{html.escape(verdict.question)}</td><td><span class='badge {css}'>{verdict.word}</span></td>"
            f"<td>{html.escape(verdict.detail)}</td></tr>"
        )
    parts.append("</tbody></table>")

    return parts


def _signal_edge_section(analysis: EdgeAnalysis) -> list[str]:
    """1. The pooled edge of each volume-flow score."""
    settings, horizon = analysis.settings, analysis.horizon
    parts: list[str] = []
    edge = analysis.signal_edge
    edge_horizon = int(edge["horizon_days"].iloc[0]) if len(edge) else horizon
    threshold = float(edge["threshold"].iloc[0]) if len(edge) else float("nan")
    parts.append(
        f"<h2>1. Volume-flow signal edge</h2><p>Mean {edge_horizon}-day forward return on days with the score above "
        f"{threshold:g} minus the mean on the other days, every ticker and day of the store pooled. Whiskers: "
        "&plusmn;2 Driscoll-Kraay standard errors (robust to stocks moving together and to overlapping windows). "
        "Source: <code>marts.fct_signal_edge</code>; per ticker: <code>marts.fct_signal_edge_by_ticker</code>.</p>"
    )
    if len(edge):
        parts.append(_figure(_edge_chart(edge, settings.edge_threshold), "Pooled edge per score."))
    parts.append(
        _table(
            edge,
            {
                "score_name": ("score", str),
                "n_days": ("ticker-days", lambda v: _num(v, 0)),
                "n_high": ("high days", lambda v: _num(v, 0)),
                "mean_high": ("mean, high", _pct),
                "mean_low": ("mean, other", _pct),
                "edge": ("edge", _pct),
                "t_stat": ("t (DK)", _num),
                "share_tickers_positive": ("tickers with edge > 0", lambda v: _share(v, 0)),
                "tickers_significant_positive": ("t > 2", lambda v: _num(v, 0)),
                "tickers_significant_negative": ("t < -2", lambda v: _num(v, 0)),
            },
        )
    )

    return parts


def _backtest_section(analysis: EdgeAnalysis) -> list[str]:
    """2. The model's top-fraction portfolio over the test window, against the benchmark."""
    settings, horizon = analysis.settings, analysis.horizon
    parts: list[str] = []
    parts.append(
        f"<h2>2. Model backtest (test window only)</h2><p>Each day, buy the top {settings.top_fraction:.0%} of "
        f"stocks by calibrated probability, equal weight, and hold {horizon} days; {horizon} staggered sleeves, so "
        f"the book is the average of the last {horizon} portfolios. Costs {settings.cost_bps:g} bps per side on "
        "traded value. "
        "Benchmark: every scored stock, equal weight, same sleeves, no costs.</p>"
    )
    parts.append(_figure(_cumulative_chart(analysis), "Cumulative return, test window."))
    parts.append(
        _table(
            analysis.summary,
            {
                "portfolio": ("portfolio", str),
                "cumulative_return": ("cumulative", _pct),
                "annual_return": ("annual return", _pct),
                "annual_volatility": ("annual vol", lambda v: _share(v, 2)),
                "sharpe": ("Sharpe (rf 0)", _num),
                "max_drawdown": ("max drawdown", _pct),
                "hit_rate": (f"{horizon}-day hit rate", lambda v: _share(v, 0)),
                "beat_benchmark_rate": ("beats benchmark", lambda v: _share(v, 0)),
                "mean_turnover": ("daily turnover", lambda v: _share(v, 1)),
            },
        )
    )

    return parts


def _model_factor_section(analysis: EdgeAnalysis) -> list[str]:
    """3. The model's probability as a factor, and its reliability."""
    settings, horizon = analysis.settings, analysis.horizon
    factor_formats = _factor_formats(horizon)
    parts: list[str] = []
    model = analysis.factors["model"]
    parts.append(
        "<h2>3. The model's probability as a factor (test window)</h2><p>Daily cross-sectional rank IC "
        f"(Spearman) of the probability against the {horizon}-day forward return; mean {horizon}-day return by "
        "probability quintile; and whether the probabilities mean what they say.</p>"
    )
    parts.append(_table(model.summary, factor_formats))
    parts.append("<div class='grid'>")
    if model.summary.set_index("factor").loc["model_probability", "days"] > 0:
        parts.append(
            _figure(_ic_chart(model.daily, ["model_probability"], 21, "model probability"), "Rank IC over time.")
        )
        parts.append(
            _figure(
                _quantile_chart(model.quantile_returns, ["model_probability"], "model probability", horizon),
                f"Mean {horizon}-day forward return by quintile.",
            )
        )
    else:
        parts.append(
            "<p class='warning'>On no test day do the calibrated probabilities differ across stocks (the model "
            "predicts one probability per day), so there is no IC or quintile to draw: the model does not rank "
            "stocks.</p>"
        )
    parts.append(
        _figure(
            _reliability_chart(analysis.reliability, horizon),
            f"Reliability: up to {settings.reliability_bins} equal-count bins of the test window's predictions "
            "(edges at quantiles; equal probabilities share a bin, so there may be fewer).",
        )
    )
    parts.append("</div>")

    return parts


def _features_section(analysis: EdgeAnalysis) -> list[str]:
    """4. Every feature as a factor over the whole labelled history."""
    horizon = analysis.horizon
    factor_formats = _factor_formats(horizon)
    edge = analysis.signal_edge
    parts: list[str] = []
    full = analysis.factors["features_full"]
    summary = full.summary.copy()
    test_rank = analysis.factors["features_test"].summary.set_index("factor")["rank_ic_mean"]
    summary["test_rank_ic"] = summary["factor"].map(test_rank)
    summary = summary.reindex(summary["rank_ic_t"].abs().sort_values(ascending=False, na_position="last").index)
    strongest = [name for name in summary["factor"].head(3)]
    scores = [name for name in edge["score_name"] if name in set(full.quantile_returns["factor"])]
    parts.append(
        "<h2>4. Every feature as a factor (whole labelled history)</h2><p>Sorted by the Newey-West t of the "
        "mean daily rank IC. The last column repeats the rank IC on the model's test window alone.</p>"
    )
    if strongest:
        parts.append(_figure(_ic_chart(full.daily, strongest, 63, "strongest features"), "Rank IC over time."))
    if scores:
        parts.append(
            _figure(
                _quantile_chart(full.quantile_returns, scores, "volume-flow scores", horizon),
                f"Mean {horizon}-day forward return by quintile of each volume-flow score.",
            )
        )
    parts.append(_table(summary, {**factor_formats, "test_rank_ic": ("rank IC, test", lambda v: _num(v, 4))}))
    return parts


def write_report(analysis: EdgeAnalysis, database: str, path: Path) -> Path:
    """Render the report and write it to `path` (folders created); returns the path.

    Raises
    ------
    MLError
        `path` is a directory or cannot be written.
    """
    return write_page(render_report(analysis, database), path, "edge.html")

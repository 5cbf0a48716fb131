"""The monitoring report: the daily log of a store (or of a replay's copy) as one self-contained HTML file.

Sections, each over the days the routine ran and always of the day's champion (the model whose calls the
day's were; `ml.daily_runs.model_id`):

- the summary: days, predictions and outcomes, the champion now, and per model its days as champion and
  its resolved predictions' metrics;
- live performance over time: rolling AUC and rank IC (the last 60 resolved trade dates, as of each day)
  with two standard errors, and the top-decile hit rate against the base rate, with the retrain events
  (a challenger trained, promoted, rejected) marked;
- the live reliability diagram: the resolved predictions by decile of calibrated probability, mean
  predicted against observed rate, raw and calibrated;
- drift over time: per feature and day, PSI over its threshold (drifted at 1 and above; a feature with no
  value in the window shown as drifted), and the share of drifted features against the 20 % trigger;
- the retrain events: every status change of `ml.model_status`, with its reason.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import duckdb
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from ml.daily import storage
from ml.daily.drift import TRIGGER_SHARE
from ml.daily.performance import WINDOW_DAYS
from ml.errors import MLError
from ml.formatting import number
from ml.metrics import expected_calibration_error
from ml.report_page import STYLE, figure, subplots, svg, table, write_page

EVENT_STYLE = {
    "challenger": ("#ff7f0e", "--", "challenger trained"),
    "champion": ("#2e7d32", "-", "challenger promoted"),
    "rejected": ("#c62828", ":", "challenger rejected"),
}
#: Bins of the live reliability diagram (deciles of the calibrated probability).
RELIABILITY_BINS = 10


@dataclass
class MonitoringLog:
    """What the report shows, read from the `ml` schema."""

    runs: pd.DataFrame
    performance: pd.DataFrame
    resolved: pd.DataFrame
    drift: pd.DataFrame
    events: pd.DataFrame
    models: pd.DataFrame


def read_log(connection: duckdb.DuckDBPyConnection) -> MonitoringLog:
    """Read the daily log (module docstring); MLError when the routine never ran on this store."""
    frames = storage.monitoring_frames(connection)
    if frames is None:
        raise MLError("this store has no daily log: run `python -m ml.daily` (or a replay) first.")
    performance = frames["performance"]
    performance["rank_ic_se"] = (performance["rank_ic"] / performance["rank_ic_t"]).abs()
    return MonitoringLog(**frames)


def _dates(values) -> pd.Series:
    return pd.to_datetime(pd.Series(values))


def _mark_events(axis, events: pd.DataFrame, first, last) -> None:
    """Vertical lines at the routine's retrain events inside the plotted period (legend once per kind)."""
    shown = set()
    for row in events.itertuples():
        if row.source != "daily" or row.status not in EVENT_STYLE:
            continue
        day = pd.Timestamp(row.effective_date)
        if not first <= day <= last:
            continue
        color, style, label = EVENT_STYLE[row.status]
        axis.axvline(day, color=color, linestyle=style, linewidth=1, label=None if label in shown else label)
        shown.add(label)


def _band_chart(log: MonitoringLog, value: str, se: str, reference: float, title: str) -> str:
    frame = log.performance
    dates = _dates(frame["as_of_date"])
    values = frame[value].astype(float)
    errors = frame[se].astype(float).abs()
    figure_, axis = subplots(10, 3)
    axis.plot(dates, values, color="#08519c", label=f"rolling, last {WINDOW_DAYS} resolved trade dates")
    axis.fill_between(dates, values - 2 * errors, values + 2 * errors, color="#9ecae1", alpha=0.5, label="± 2 s.e.")
    axis.axhline(reference, color="black", linewidth=0.7)
    _mark_events(axis, log.events, dates.min(), dates.max())
    axis.set_title(title, fontsize=10)
    axis.legend(loc="upper left", fontsize=8)
    axis.grid(alpha=0.3)
    figure_.autofmt_xdate()
    return svg(figure_)


def _hit_rate_chart(log: MonitoringLog) -> str:
    frame = log.performance
    dates = _dates(frame["as_of_date"])
    figure_, axis = subplots(10, 2.8)
    axis.plot(dates, frame["top_decile_hit_rate"].astype(float), color="#08519c", label="top decile's hit rate")
    axis.plot(dates, frame["base_rate"].astype(float), color="#7f7f7f", linestyle="--", label="base rate")
    _mark_events(axis, log.events, dates.min(), dates.max())
    axis.set_title(f"Share of outcomes = 1 among each day's top tenth, last {WINDOW_DAYS} trade dates", fontsize=10)
    axis.legend(loc="upper left", fontsize=8)
    axis.grid(alpha=0.3)
    figure_.autofmt_xdate()
    return svg(figure_)


def reliability(resolved: pd.DataFrame, bins: int = RELIABILITY_BINS) -> pd.DataFrame:
    """(probability, bin, rows, mean_predicted, observed_rate) of resolved predictions, by quantile bin of each
    probability ('raw', 'calibrated')."""
    parts = []
    for name in ("raw", "calibrated"):
        values = resolved[f"{name}_probability"].astype(float)
        ranks = values.rank(method="first")
        labels = np.minimum((ranks - 1) * bins // len(values), bins - 1).astype(int) + 1
        grouped = pd.DataFrame({"bin": labels, "p": values, "y": resolved["outcome"].astype(float)}).groupby("bin")
        part = grouped.agg(rows=("p", "size"), mean_predicted=("p", "mean"), observed_rate=("y", "mean"))
        parts.append(part.reset_index().assign(probability=name))
    return pd.concat(parts, ignore_index=True)


def _reliability_chart(bins: pd.DataFrame) -> str:
    figure_, axis = subplots(4.8, 4.4)
    for name, marker, color in (("raw", "o", "#9ecae1"), ("calibrated", "s", "#08519c")):
        rows = bins[bins["probability"] == name]
        axis.plot(rows["mean_predicted"], rows["observed_rate"], marker=marker, color=color, label=name)
    values = bins[["mean_predicted", "observed_rate"]].to_numpy(dtype=float)
    span = [max(0.0, float(np.nanmin(values)) - 0.02), min(1.0, float(np.nanmax(values)) + 0.02)]
    axis.plot(span, span, linestyle="--", color="black", linewidth=0.8, label="perfect calibration")
    axis.set_xlabel("mean predicted probability (decile)")
    axis.set_ylabel("observed rate")
    axis.legend(fontsize=8)
    axis.grid(alpha=0.3)
    return svg(figure_)


def _drift_charts(log: MonitoringLog) -> str:
    drift = log.drift.copy()
    ratio = drift["psi"].astype(float) / drift["threshold"].astype(float)
    drift["ratio"] = np.where(drift["psi"].isna(), 2.0, ratio.clip(upper=2.0))  # no value now: drifted
    grid = drift.pivot_table(index="feature", columns="as_of_date", values="ratio", aggfunc="first")
    grid = grid.loc[grid.max(axis=1).sort_values(ascending=False).index]
    days = _dates(grid.columns)
    figure_, (heat, share) = subplots(
        10, 1.2 + 0.22 * len(grid) + 2.2, 2, 1, sharex=True, height_ratios=[0.22 * len(grid) + 1, 2.2]
    )
    image = heat.imshow(
        grid.to_numpy(dtype=float),
        aspect="auto",
        cmap="RdYlGn_r",
        vmin=0,
        vmax=2,
        interpolation="nearest",
        extent=(
            mdates.date2num(days.min()) - 0.5,  # each day's cell centred on its date (one day: a cell, not a line)
            mdates.date2num(days.max()) + 0.5,
            len(grid) - 0.5,
            -0.5,
        ),
    )
    heat.set_yticks(range(len(grid)), grid.index, fontsize=7)
    heat.xaxis_date()
    heat.set_title("PSI over its threshold per feature (1 and above: drifted; no value now: drifted)", fontsize=10)
    figure_.colorbar(image, ax=heat, fraction=0.02, pad=0.01)
    runs = log.runs
    run_days = _dates(runs["run_date"])
    share.plot(run_days, runs["drifted_share"].astype(float), color="#08519c", label="share of features drifted")
    share.axhline(TRIGGER_SHARE, color="#c62828", linestyle="--", linewidth=0.8, label=f"trigger ({TRIGGER_SHARE:.0%})")
    _mark_events(share, log.events, run_days.min(), run_days.max())
    share.set_ylim(0, 1)
    share.legend(loc="upper left", fontsize=8)
    share.grid(alpha=0.3)
    figure_.autofmt_xdate()
    return svg(figure_)


def _model_summary(log: MonitoringLog) -> pd.DataFrame:
    """Per model that was champion: its days, its resolved calls' AUC and ECE, and its test AUC."""
    rows = []
    statuses = log.events.groupby("model_id")["status"].last().to_dict() if not log.events.empty else {}
    for model in log.models.itertuples():
        resolved = log.resolved[log.resolved["model_id"] == model.model_id]
        both = resolved["outcome"].nunique() == 2
        probability, outcome = resolved["calibrated_probability"].to_numpy(), resolved["outcome"].to_numpy()
        rows.append(
            {
                "model_id": model.model_id,
                "status": statuses.get(model.model_id, "champion"),
                "days": model.days,
                "first_day": str(model.first_day)[:10],
                "last_day": str(model.last_day)[:10],
                "resolved": len(resolved),
                "auc": float(roc_auc_score(outcome, probability)) if both else None,
                "test_auc": model.test_auc,
                "ece": float(expected_calibration_error(probability, outcome, n_bins=10)) if len(resolved) else None,
            }
        )
    return pd.DataFrame(rows)


NO_OUTCOME = "No outcome is known yet: the first predictions resolve five trading days after them."


def _section(title: str, content: list[str] | None, missing: str) -> list[str]:
    """A report section: its heading, then its content, or one line saying why there is none."""
    return [f"<h2>{title}</h2>", *(content or [f"<p>{missing}</p>"])]


def _performance_part(log: MonitoringLog) -> list[str] | None:
    if log.performance.empty:
        return None
    return [
        figure(
            _band_chart(log, "rank_ic", "rank_ic_se", 0.0, "Rank IC (mean daily Spearman with the 5-day return)"),
            "Rank IC of the day's champion as of each day, over its last 60 resolved trade dates; the band is "
            "two Newey-West standard errors. Vertical lines: retrain events.",
        ),
        figure(
            _band_chart(log, "auc", "auc_se", 0.5, "AUC of the calibrated probability"),
            "AUC as of each day over the last 60 resolved trade dates; two standard errors clustered by day.",
        ),
        figure(_hit_rate_chart(log), "Top-decile hit rate against the base rate: above it means an edge."),
    ]


def _reliability_part(log: MonitoringLog) -> list[str] | None:
    if log.resolved["outcome"].nunique() != 2:
        return None
    bins = reliability(log.resolved)
    return [
        "<div class='grid'>",
        figure(
            _reliability_chart(bins),
            f"The {len(log.resolved):,} resolved predictions by decile of each probability: on the diagonal, "
            "a probability means what it says.",
        ),
        table(
            bins[bins["probability"] == "calibrated"],
            {
                "bin": ("decile", str),
                "rows": ("rows", lambda v: f"{v:,}"),
                "mean_predicted": ("mean calibrated probability", lambda v: number(v, 3)),
                "observed_rate": ("observed rate", lambda v: number(v, 3)),
            },
        ),
        "</div>",
    ]


def _drift_part(log: MonitoringLog) -> list[str] | None:
    if log.drift.empty:
        return None
    caption = (
        "Each feature of the day's champion over the last 30 trade dates against its training baseline "
        f"(docs/daily.md); the day triggers when {TRIGGER_SHARE:.0%} of the features drift."
    )
    return [figure(_drift_charts(log), caption)]


def _events_part(log: MonitoringLog) -> list[str] | None:
    if log.events.empty:
        return None
    columns = {
        "effective_date": ("day", lambda v: str(v)[:10]),
        "model_id": ("model", str),
        "status": ("status", str),
        "source": ("by", str),
        "reason": ("reason", str),
    }
    return [table(log.events, columns)]


def render_report(log: MonitoringLog, database: str) -> str:
    """The report as one HTML string (`database`: the store's path, shown in the header)."""
    runs = log.runs
    first, last = str(runs["run_date"].min())[:10], str(runs["run_date"].max())[:10]
    champion = runs["model_id"].iloc[-1]
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Monitoring: {html.escape(database)}</title><style>{STYLE}</style></head><body>",
        "<h1>The daily routine: live performance, calibration, drift, retraining</h1>",
        f"<p class='meta'>store {html.escape(database)} &middot; {len(runs)} day(s) run, {first} to {last} "
        f"&middot; {int(runs['scored'].sum()):,} predictions by the day's champion, {len(log.resolved):,} resolved "
        f"&middot; champion now {html.escape(champion)} &middot; drift triggered on "
        f"{int(runs['drift_triggered'].fillna(False).sum())} day(s)</p>",
        "<h2>Models</h2>",
        table(
            _model_summary(log),
            {
                "model_id": ("model", str),
                "status": ("status now", str),
                "days": ("days as champion", str),
                "first_day": ("from", str),
                "last_day": ("to", str),
                "resolved": ("resolved predictions", lambda v: f"{v:,}"),
                "auc": ("live AUC", lambda v: number(v, 3, missing="")),
                "test_auc": ("test AUC (training)", lambda v: number(v, 3, missing="")),
                "ece": ("live ECE", lambda v: number(v, 4, missing="")),
            },
        ),
    ]
    parts += _section("Live performance over time", _performance_part(log), NO_OUTCOME)
    parts += _section("Live reliability", _reliability_part(log), "Not enough resolved predictions yet.")
    parts += _section("Drift over time", _drift_part(log), "No drift check recorded.")
    parts += _section("Retrain events", _events_part(log), "No status change recorded.")
    parts.append(
        "<p class='meta'>Tables: ml.daily_runs, ml.live_performance, ml.predictions, ml.drift_checks, "
        "ml.model_status (docs/daily.md).</p></body></html>"
    )
    return "\n".join(parts)


def write_report(connection: duckdb.DuckDBPyConnection, database: str, path: Path) -> Path:
    """Read the log, render the report and write it to `path`; returns the path."""
    return write_page(render_report(read_log(connection), database), path, "monitoring.html")

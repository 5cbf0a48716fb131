"""`python -m ml.daily`: score today with the champion model, after the day's ingest and `dbt build`.

    python -m ml.daily                    # the trading day the clock expects (after 18:00 New York: today)
    python -m ml.daily --date 2026-11-27  # that day (or the trading day before it, on a holiday or weekend)
    python -m ml.daily --date latest      # the store's latest day (data without a clock: the synthetic market)
    python -m ml.daily --replay 2025-01-02 2025-12-31   # those days one by one, as if live, in a copy of the store
    python -m ml.daily --retrain never    # score, but train no challenger (auto: on drift or degraded live AUC)
    python -m ml.daily --report           # and write the monitoring report (reports/monitoring_report.html)

Refuses stale data (the store's prices do not reach the day, the last ingest run failed or loaded nothing,
or the features are not built) with one line and exit status 1, scoring nothing. Otherwise, in one
transaction: resolves the outcomes known by the day, updates the live calibrator, scores every ticker of the
day into `ml.predictions` (and with the challenger in shadow), records the live calibration and performance,
judges the challenger and trains one when drift or the live performance says so (`--retrain`,
ml/daily/retraining.py); re-running a day replaces it. Ends with the day's strongest calls, the drift
verdict, the retraining news and the live metrics. `--replay` runs the same routine on every trading day of a
past period in a copy of the store (`--into`), training a model as of the first day when the champion saw
later outcomes (ml/daily/replay.py), and ends with the period's live metrics. `--report` then writes the
monitoring report of the store's (or the replay copy's) daily log (ml/daily/monitoring.py). Follows the
command-line convention of `cli` (exit 0 / 1 / 2 / 130, one-line errors).
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from cli import Terminal, UsageError, run_command
from cli.arguments import add_database_argument, iso_date
from ml.daily.freshness import day_to_score
from ml.daily.monitoring import write_report
from ml.daily.replay import ReplaySummary, copy_store, default_target, replay
from ml.daily.retraining import MODES, SHADOW_DAYS
from ml.daily.routine import DayResult, run_day
from ml.errors import MLError
from ml.formatting import number
from store import connect, database_path

INTERRUPTED = "nothing of this day was stored: the database is as it was before this command."
LATEST = "latest"
DEFAULT_REPORT = Path("reports/monitoring_report.html")


def _date(text: str) -> dt.date | str:
    return LATEST if text == LATEST else iso_date(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ml.daily", description=__doc__.splitlines()[0])
    add_database_argument(parser)
    parser.add_argument(
        "--date",
        type=_date,
        default=None,
        metavar="YYYY-MM-DD|latest",
        help="the day to score (default: the last trading day whose prices should be in by now; 'latest': the "
        "store's latest day)",
    )
    parser.add_argument(
        "--replay",
        type=iso_date,
        nargs=2,
        default=None,
        metavar=("START", "END"),
        help="run the routine on every trading day from START to END, as if live, in a copy of the store",
    )
    parser.add_argument(
        "--retrain",
        choices=MODES,
        default="auto",
        help="auto (default): train a challenger when drift triggers or the live AUC falls below the test AUC; "
        "always: on every run; never: not (one challenger at a time, promoted only if it beats the champion)",
    )
    parser.add_argument(
        "--report",
        type=Path,
        nargs="?",
        const=DEFAULT_REPORT,
        default=None,
        metavar="PATH",
        help=f"after the run, write the monitoring report of the daily log (default path: {DEFAULT_REPORT})",
    )
    parser.add_argument(
        "--into",
        type=Path,
        default=None,
        metavar="PATH",
        help="the replay's copy of the store (default: beside it, <store>.replay-START-END.duckdb)",
    )
    return parser


def metrics_line(metrics: dict) -> str:
    """Resolved predictions' metrics in one line."""

    def shown(name: str, digits: int) -> str:
        return number(metrics[name], digits, missing="-")

    return (
        f"{shown('rows', 0)} resolved predictions: AUC {shown('auc', 3)} (s.e. {shown('auc_se', 3)}), rank IC "
        f"{shown('rank_ic', 4)} (NW t {shown('rank_ic_t', 2)}), top-decile hit rate {shown('top_decile_hit_rate', 3)} "
        f"(base rate {shown('base_rate', 3)}), ECE {shown('ece', 4)}"
    )


def print_summary(result: DayResult, terminal: Terminal) -> None:
    """The day in a few lines a person reads."""
    terminal.line(
        f"{result.day}: scored {result.scored:,} tickers with model {result.model_id}; {result.resolved:,} "
        f"outcome(s) resolved; live calibration {result.calibration_method}"
        + (" (refitted today)" if result.refitted else "")
        + f"; {result.seconds:.1f} s"
    )
    terminal.line("strongest calls: " + ", ".join(f"{ticker} {p:.3f}" for ticker, p in result.top))
    drift = result.drift
    if drift is not None:
        drifted = drift.features.loc[drift.features["drifted"], "feature"].tolist()
        terminal.line(
            f"drift since {drift.window_first} ({drift.rows:,} rows): {len(drifted)} of {len(drift.features)} features "
            "past their threshold (PSI above 0.2 and above every month of training)"
            + (f" ({', '.join(drifted[:5])}{', ...' if len(drifted) > 5 else ''})" if drifted else "")
            + (f"; {len(drift.skipped)} not tested (no value)" if drift.skipped else "")
            + ("; drift verdict: triggered" if drift.triggered else "; drift verdict: no")
        )
    if result.decision is not None:
        terminal.line(result.decision.summary())
    if result.trained_model_id is not None:
        terminal.line(
            f"retrained: challenger {result.trained_model_id} ({result.retrain_reason}); it is scored beside the "
            f"champion and judged once {SHADOW_DAYS} trade dates of both are resolved"
        )
    elif result.shadow_model_id is not None:
        terminal.line(f"challenger {result.shadow_model_id} scored in shadow, waiting for its window")
    metrics = result.performance
    if metrics is None:
        terminal.line("live performance: no outcome known yet")
        return
    terminal.line(f"live, last 60 trade dates, {metrics_line(metrics)}")


def print_replay(summary: ReplaySummary, terminal: Terminal) -> None:
    """The replay in a few lines a person reads."""
    terminal.line(
        f"replayed {summary.days} trading days, {summary.first_day} to {summary.last_day}, from model "
        f"{summary.first_model_id}"
        + (" (trained as of the first day)" if summary.trained else "")
        + ("" if summary.model_id == summary.first_model_id else f" to champion {summary.model_id}")
        + f": {summary.scored:,} predictions, {summary.resolved:,} resolved; drift triggered on "
        f"{summary.drift_triggered_days} day(s); {summary.retrains} challenger(s) trained, {summary.promotions} "
        f"promoted, {summary.rejections} rejected; the last champion's live calibrator refitted "
        f"{summary.calibration_refits} time(s); {summary.seconds:.0f} s ({summary.training_seconds:.0f} s training)"
    )
    if summary.performance is not None:
        terminal.line(f"over the period, {metrics_line(summary.performance)}")
    terminal.line(f"the paper-trading record is in {summary.into} (schema ml; docs/daily.md)")


def run_replay(args: argparse.Namespace, terminal: Terminal) -> int:
    """Copy the store and replay the period in the copy."""
    start, end = args.replay
    if end < start:
        raise UsageError(f"--replay START END: {end} is before {start}")
    source = database_path(args.db)
    target = args.into or default_target(source, start, end)
    if target.resolve() == source.resolve():
        raise UsageError("--into must name another file than the store: a replay never writes into the live store")
    terminal.say(f"copying {source} to {target}")
    copy_store(source, target)
    connection = connect(target, create=False)
    try:
        with terminal.progress("replaying") as progress:
            summary = replay(
                connection, start, end, into=target, retrain=args.retrain, report=terminal.say, progress=progress
            )
        print_replay(summary, terminal)
        _write_report(args, connection, target, terminal)
    finally:
        connection.close()
    return 0


def _write_report(args: argparse.Namespace, connection, database: Path, terminal: Terminal) -> None:
    """Write the monitoring report when --report asked for it."""
    if args.report is not None:
        path = write_report(connection, str(database), args.report)
        terminal.line(f"monitoring report: {path}")


def run(args: argparse.Namespace, terminal: Terminal) -> int:
    """Choose the day, refuse stale data, run the routine and print the summary (or run a replay)."""
    if args.replay is not None:
        if args.date is not None:
            raise UsageError("give --date or --replay, not both")
        return run_replay(args, terminal)
    if args.into is not None:
        raise UsageError("--into goes with --replay")
    path = database_path(args.db)
    connection = connect(path, create=False)
    try:
        latest = args.date == LATEST
        day = day_to_score(connection, None if latest else args.date, latest=latest)
        result = run_day(connection, day, retrain=args.retrain, report=terminal.say)
        print_summary(result, terminal)
        _write_report(args, connection, path, terminal)
    finally:
        connection.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m ml.daily ARGS`: returns the exit status (see `cli.run`)."""
    return run_command(build_parser(), run, argv, user_errors=(MLError,), interrupted=INTERRUPTED)

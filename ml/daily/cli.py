"""`python -m ml.daily`: score today with the champion model, after the day's ingest and `dbt build`.

    python -m ml.daily                    # the trading day the clock expects (after 18:00 New York: today)
    python -m ml.daily --date 2026-11-27  # that day (or the trading day before it, on a holiday or weekend)
    python -m ml.daily --date latest      # the store's latest day (data without a clock: the synthetic market)

Refuses stale data (the store's prices do not reach the day, the last ingest run failed or loaded nothing,
or the features are not built) with one line and exit status 1, scoring nothing. Otherwise, in one
transaction: resolves the outcomes known by the day, updates the live calibrator, scores every ticker of the
day into `ml.predictions`, and records the live calibration and performance; re-running a day replaces it.
Ends with the day's strongest calls and the live metrics. Follows the command-line convention of `cli`
(exit 0 / 1 / 2 / 130, one-line errors).
"""

from __future__ import annotations

import argparse
import datetime as dt

from cli import Terminal, run_command
from cli.arguments import add_database_argument, iso_date
from ml.daily.freshness import day_to_score
from ml.daily.routine import DayResult, run_day
from ml.errors import MLError
from ml.formatting import number
from store import connect, database_path

INTERRUPTED = "nothing of this day was stored: the database is as it was before this command."
LATEST = "latest"


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
    return parser


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
            "past their threshold (PSI above every month of training)"
            + (f" ({', '.join(drifted[:5])}{', ...' if len(drifted) > 5 else ''})" if drifted else "")
            + ("; drift verdict: triggered" if drift.triggered else "; drift verdict: no")
        )
    metrics = result.performance
    if metrics is None:
        terminal.line("live performance: no outcome known yet")
        return
    terminal.line(
        f"live, last {number(metrics['rows'], 0)} resolved predictions: AUC {number(metrics['auc'], 3, missing='-')}, "
        f"rank IC {number(metrics['rank_ic'], 4, missing='-')} (NW t {number(metrics['rank_ic_t'], 2, missing='-')}), "
        f"top-decile hit rate {number(metrics['top_decile_hit_rate'], 3, missing='-')} "
        f"(base rate {number(metrics['base_rate'], 3, missing='-')}), ECE {number(metrics['ece'], 4, missing='-')}"
    )


def run(args: argparse.Namespace, terminal: Terminal) -> int:
    """Choose the day, refuse stale data, run the routine and print the summary."""
    connection = connect(database_path(args.db), create=False)
    try:
        latest = args.date == LATEST
        day = day_to_score(connection, None if latest else args.date, latest=latest)
        result = run_day(connection, day, report=terminal.say)
    finally:
        connection.close()
    print_summary(result, terminal)
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m ml.daily ARGS`: returns the exit status (see `cli.run`)."""
    return run_command(build_parser(), run, argv, user_errors=(MLError,), interrupted=INTERRUPTED)

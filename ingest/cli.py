"""Command line of `python -m ingest`: parse the arguments, open the database once, run one job, print the
summary. Follows the convention of `cli` (exit 0 / 1 / 2 / 130, one-line errors, literal output)."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from cli import Terminal, run_command
from cli.arguments import (
    add_database_argument,
    finite_float,
    iso_date,
    non_negative_int,
    positive_float,
    positive_int,
    seed,
    ticker_list,
)
from ingest import jobs
from ingest.console import print_summary
from ingest.errors import IngestError
from ingest.load import latest_run_of_this_process
from ingest.sources.synthetic import REGIMES
from ingest.universe import LISTS
from store import StoreError, connect, database_path, relation_exists
from store.parquet import DEFAULT_PARQUET_DIR, PARQUET_ENV_VAR, export_raw, parquet_directory

#: What Ctrl-C left when the run's load had not committed (`interrupted` reads which it was from the run log).
INTERRUPTED = "nothing from this run was loaded (its transaction was rolled back); the next run records it."


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    add_database_argument(common, subcommand=True)
    parser = argparse.ArgumentParser(
        prog="python -m ingest",
        description="Load daily prices, sentiment and corporate events into the feature store's DuckDB file.",
    )
    add_database_argument(parser)
    commands = parser.add_subparsers(dest="command", required=True, metavar="SOURCE")

    synthetic = commands.add_parser(
        "synthetic", parents=[common], help="the built-in synthetic market (offline, deterministic)"
    )
    synthetic.add_argument("--seed", type=seed, default=42, help="random seed (default 42)")
    synthetic.add_argument("--years", type=positive_float, default=5.0, help="years of business days (default 5)")
    synthetic.add_argument("--end", type=iso_date, default=dt.date(2025, 12, 31), help="last date (default 2025-12-31)")
    synthetic.add_argument(
        "--n-tickers", type=non_negative_int, default=None, metavar="N", help="number of equities (default: all)"
    )
    synthetic.add_argument(
        "--signal",
        type=finite_float,
        default=0.0,
        help="strength of the planted predictive signal (default 0: nothing to predict); see docs/synthetic.md",
    )
    regimes = [name for name, _, _ in REGIMES]
    synthetic.add_argument(
        "--regime", choices=regimes, default=None, help="hold the hidden market state in one regime (no regime change)"
    )
    synthetic.add_argument(
        "--shift-on",
        type=iso_date,
        default=None,
        metavar="YYYY-MM-DD",
        help="plant a regime shift: from this date the market stays in --shift-to (for drift checks)",
    )
    synthetic.add_argument(
        "--shift-to", choices=regimes, default="crisis", help="the regime of the planted shift (default crisis)"
    )

    files = commands.add_parser("csv", parents=[common], help="per-ticker CSV/Parquet files (gzip accepted)")
    files.add_argument("paths", nargs="+", help="files, directories or quoted globs")

    yahoo = commands.add_parser("yfinance", parents=[common], help="download from Yahoo Finance (incremental)")
    yahoo.add_argument("--tickers", type=ticker_list, default=None, help="comma-separated tickers (default: a list)")
    yahoo.add_argument("--universe", choices=LISTS, default="all", help="which list when --tickers is not given")
    yahoo.add_argument("--allow-unknown", action="store_true", help="accept tickers that are not in the universe")
    yahoo.add_argument("--start", type=iso_date, default=None, help="first date for tickers not yet stored")
    yahoo.add_argument("--end", type=iso_date, default=None, help="last date (default: today)")
    yahoo.add_argument("--full-refresh", action="store_true", help="ignore stored dates and fetch everything")
    yahoo.add_argument("--no-events", action="store_true", help="prices only: skip earnings, ratings, insiders")
    yahoo.add_argument("--chunk-size", type=positive_int, default=50, help="tickers per bulk download (default 50)")

    sentiment = commands.add_parser("sentiment", parents=[common], help="daily news sentiment (EODHD API or CSV)")
    sentiment.add_argument("--file", default=None, help="CSV file (ticker,date,sentiment[,count]) instead of the API")
    sentiment.add_argument("--tickers", type=ticker_list, default=None, help="comma-separated tickers (API only)")
    sentiment.add_argument("--universe", choices=LISTS, default="all", help="which list when --tickers is not given")
    sentiment.add_argument("--start", type=iso_date, default=None, help="first date (API; default a year ago)")
    sentiment.add_argument("--end", type=iso_date, default=None, help="last date (API; default today)")

    runs = commands.add_parser("runs", parents=[common], help="show the latest runs from raw.ingest_runs")
    runs.add_argument("--last", type=positive_int, default=10, help="how many runs (default 10)")

    export = commands.add_parser(
        "export", parents=[common], help="write the raw datasets as Parquet files for Spark (docs/scale.md)"
    )
    export.add_argument(
        "--to",
        default=None,
        metavar="DIR",
        help=f"folder of the files (default: ${PARQUET_ENV_VAR} or {DEFAULT_PARQUET_DIR})",
    )
    return parser


def export_parquet(db_path: Path, to: str | None, terminal: Terminal) -> None:
    """Write the raw datasets of `db_path` as Parquet (store.parquet) and say where."""
    directory = parquet_directory(to)
    connection = connect(db_path, read_only=True, create=False)
    try:
        exported = export_raw(connection, directory, report=terminal.say)
    finally:
        connection.close()
    rows = sum(dataset.rows for dataset in exported)
    terminal.line(f"exported {rows:,} rows of {len(exported)} raw datasets to {directory} (Parquet, by year)")


def show_runs(db_path: Path, last: int, terminal: Terminal) -> None:
    """The latest `last` runs of raw.ingest_runs, newest first."""
    if not db_path.exists():
        terminal.line(f"{db_path} does not exist yet: run an ingest first.")
        return
    connection = connect(db_path, read_only=True)
    try:
        if not relation_exists(connection, "raw.ingest_runs"):
            terminal.line(f"{db_path} has no ingest runs yet: run an ingest first.")
            return
        rows = connection.execute(
            "select run_id, source, status, started_at, finished_at, rows_read, rows_loaded, rows_rejected "
            "from raw.ingest_runs order by started_at desc limit ?",
            [last],
        ).fetchall()
    finally:
        connection.close()
    columns = ("run", "source", "status", "started", "finished", "read", "loaded", "rejected")
    terminal.table(
        f"the last {len(rows)} run(s) in {db_path}",
        columns,
        [
            (
                run_id,
                source,
                status,
                f"{started:%Y-%m-%d %H:%M:%S}",
                "" if finished is None else f"{finished:%Y-%m-%d %H:%M:%S}",
                *("" if count is None else f"{count:,}" for count in (read, loaded, rejected)),
            )
            for run_id, source, status, started, finished, read, loaded, rejected in rows
        ],
        left=columns[:5],
    )


def run(args: argparse.Namespace, terminal: Terminal) -> int:
    """Run the job the arguments name on one read-write connection and print its summary."""
    db_path = database_path(args.db)
    if args.command == "runs":
        show_runs(db_path, args.last, terminal)
        return 0
    if args.command == "export":
        export_parquet(db_path, args.to, terminal)
        return 0
    connection = connect(db_path)
    try:
        if args.command == "synthetic":
            summary = jobs.ingest_synthetic(
                connection,
                seed=args.seed,
                years=args.years,
                end=args.end,
                signal=args.signal,
                n_tickers=args.n_tickers,
                regime=args.regime,
                shift_on=args.shift_on,
                shift_to=args.shift_to,
                report=terminal.say,
            )
        elif args.command == "csv":
            summary = jobs.ingest_files(connection, args.paths, report=terminal.say, progress=terminal.progress)
        elif args.command == "yfinance":
            summary = jobs.ingest_yahoo(
                connection,
                tickers=args.tickers,
                universe_list=args.universe,
                allow_unknown=args.allow_unknown,
                start=args.start,
                end=args.end,
                full_refresh=args.full_refresh,
                include_events=not args.no_events,
                chunk_size=args.chunk_size,
                report=terminal.say,
                progress=terminal.progress,
            )
        else:
            summary = jobs.ingest_sentiment(
                connection,
                file=args.file,
                tickers=args.tickers,
                universe_list=args.universe,
                start=args.start,
                end=args.end,
                report=terminal.say,
            )
    finally:
        connection.close()
    print_summary(summary, terminal)
    return 0


def interrupted(args: argparse.Namespace) -> str:
    """What a Ctrl-C left behind, from this process's run in `raw.ingest_runs`: a load commits its rows and its
    'success' together, so a Ctrl-C that lands after the commit (while the summary is printed, say) left the
    whole run loaded, and one that lands before left nothing."""
    if args.command in ("runs", "export"):
        return "nothing was written to the database."
    try:
        connection = connect(database_path(args.db), read_only=True)
    except StoreError as error:
        return f"could not read the run log to say what was loaded ({error}); `python -m ingest runs` shows it."
    try:
        run = latest_run_of_this_process(connection)
    finally:
        connection.close()
    if run is None or run.status != "success":
        return INTERRUPTED
    return (
        f"the load had already committed: run {run.run_id} loaded {run.rows_loaded or 0:,} rows "
        f"({run.rows_rejected or 0:,} rejected), as `python -m ingest runs` shows; nothing was undone."
    )


def main(argv: list[str] | None = None) -> int:
    """`python -m ingest ARGS`: returns the exit status (see `cli.run`)."""
    return run_command(build_parser(), run, argv, user_errors=(IngestError,), interrupted=interrupted)

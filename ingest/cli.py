"""Command line of `python -m ingest`: parse arguments, run one job, print the summary.

Users' errors (a locked database, a missing file or column, an unknown ticker, a refused API key)
print one line and exit with status 2; a bug keeps its traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from ingest import jobs, warehouse
from ingest.config import DB_ENV_VAR, DEFAULT_DB, database_path
from ingest.console import print_summary, say
from ingest.errors import IngestError
from ingest.universe import LISTS


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: use YYYY-MM-DD") from None


def _tickers(text: str) -> list[str]:
    return [t.strip().upper() for t in text.split(",") if t.strip()]


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db", help=f"DuckDB file (default: ${DB_ENV_VAR} or {DEFAULT_DB})", default=None, metavar="PATH"
    )
    parser = argparse.ArgumentParser(
        prog="python -m ingest",
        description="Load daily prices, sentiment and corporate events into the feature store's DuckDB file.",
        parents=[common],
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="SOURCE")

    synthetic = commands.add_parser(
        "synthetic", parents=[common], help="the built-in synthetic market (offline, deterministic)"
    )
    synthetic.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    synthetic.add_argument("--years", type=float, default=5.0, help="years of business days (default 5)")
    synthetic.add_argument("--end", type=_date, default=dt.date(2025, 12, 31), help="last date (default 2025-12-31)")
    synthetic.add_argument(
        "--tickers", type=int, default=None, metavar="N", help="number of equities (default: the universe's)"
    )
    synthetic.add_argument(
        "--signal",
        type=float,
        default=0.0,
        help="strength of the planted predictive signal (default 0: nothing to predict); see docs/synthetic.md",
    )

    files = commands.add_parser("csv", parents=[common], help="per-ticker CSV/Parquet files (gzip accepted)")
    files.add_argument("paths", nargs="+", help="files, directories or quoted globs")

    yahoo = commands.add_parser("yfinance", parents=[common], help="download from Yahoo Finance (incremental)")
    yahoo.add_argument("--tickers", type=_tickers, default=None, help="comma-separated tickers (default: a list)")
    yahoo.add_argument("--universe", choices=LISTS, default="all", help="which list when --tickers is not given")
    yahoo.add_argument("--allow-unknown", action="store_true", help="accept tickers that are not in the universe")
    yahoo.add_argument("--start", type=_date, default=None, help="first date for tickers not yet stored")
    yahoo.add_argument("--end", type=_date, default=None, help="last date (default: today)")
    yahoo.add_argument("--full-refresh", action="store_true", help="ignore stored dates and fetch everything")
    yahoo.add_argument("--no-events", action="store_true", help="prices only: skip earnings, ratings, insiders")
    yahoo.add_argument("--chunk-size", type=int, default=50, help="tickers per bulk download (default 50)")

    sentiment = commands.add_parser("sentiment", parents=[common], help="daily news sentiment (EODHD API or CSV)")
    sentiment.add_argument("--file", default=None, help="CSV file (ticker,date,sentiment[,count]) instead of the API")
    sentiment.add_argument("--tickers", type=_tickers, default=None, help="comma-separated tickers (API only)")
    sentiment.add_argument("--universe", choices=LISTS, default="all", help="which list when --tickers is not given")
    sentiment.add_argument("--start", type=_date, default=None, help="first date (API; default a year ago)")
    sentiment.add_argument("--end", type=_date, default=None, help="last date (API; default today)")

    runs = commands.add_parser("runs", parents=[common], help="show the latest runs from raw.ingest_runs")
    runs.add_argument("--last", type=int, default=10, help="how many runs (default 10)")
    return parser


def show_runs(db_path, last: int) -> None:
    connection = warehouse.connect(db_path, read_only=True) if db_path.exists() else None
    if connection is None:
        print(f"{db_path} does not exist yet: run an ingest first.")
        return
    try:
        connection.sql(
            "select run_id, source, status, started_at, finished_at, rows_read, rows_loaded, rows_rejected "
            f"from raw.ingest_runs order by started_at desc limit {int(last)}"
        ).show(max_width=200)
    finally:
        connection.close()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    db_path = database_path(args.db)
    try:
        if args.command == "runs":
            show_runs(db_path, args.last)
            return 0
        if args.command == "synthetic":
            summary = jobs.ingest_synthetic(
                db_path,
                seed=args.seed,
                years=args.years,
                end=args.end,
                signal=args.signal,
                n_tickers=args.tickers,
                report=say,
            )
        elif args.command == "csv":
            summary = jobs.ingest_files(db_path, args.paths, report=say)
        elif args.command == "yfinance":
            summary = jobs.ingest_yahoo(
                db_path,
                tickers=args.tickers,
                universe_list=args.universe,
                allow_unknown=args.allow_unknown,
                start=args.start,
                end=args.end,
                full_refresh=args.full_refresh,
                include_events=not args.no_events,
                chunk_size=args.chunk_size,
                report=say,
            )
        else:
            summary = jobs.ingest_sentiment(
                db_path,
                file=args.file,
                tickers=args.tickers,
                universe_list=args.universe,
                start=args.start,
                end=args.end,
                report=say,
            )
    except IngestError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "interrupted: nothing from this run was loaded (the transaction was rolled back).",
            file=sys.stderr,
        )
        return 130
    print_summary(summary)
    return 0

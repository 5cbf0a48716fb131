"""One function per source: collect its data and load it through `ingest.load.run_ingest`.

These are what the CLI calls and what tests call; each returns the run's `RunSummary`.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pandas as pd
import pyarrow as pa

from ingest import warehouse
from ingest.console import progress_bar
from ingest.errors import SourceError
from ingest.frames import empty_frame
from ingest.load import Reporter, RunSummary, SourceBatch, run_ingest
from ingest.sources.files import read_price_files
from ingest.universe import load_universe, select_tickers

EVENT_DATASETS = ("earnings", "analyst_actions", "insider_trades")


def ingest_synthetic(
    db_path: Path,
    *,
    seed: int = 42,
    years: float = 5.0,
    end: dt.date | None = None,
    signal: float = 0.0,
    n_tickers: int | None = None,
    report: Reporter | None = None,
) -> RunSummary:
    """Generate the built-in synthetic market (prices, sentiment, events) and load it."""
    from ingest.sources.synthetic import generate_market

    end = end or dt.date(2025, 12, 31)
    arguments = {"seed": seed, "years": years, "end": end, "signal": signal, "n_tickers": n_tickers}

    def collect(say: Reporter) -> SourceBatch:
        say(f"generating the synthetic market (seed {seed}, {years:g} years to {end}, signal {signal:g})")
        market = generate_market(load_universe(), seed=seed, years=years, end=end, signal=signal, n_tickers=n_tickers)
        frames = {
            "prices": market.prices,
            "sentiment": market.sentiment,
            "earnings": market.earnings,
            "analyst_actions": market.analyst_actions,
            "insider_trades": market.insider_trades,
        }
        tickers = market.prices["ticker"].nunique()
        return SourceBatch(frames=frames, notes=[f"synthetic market: {tickers} series, seed {seed}, signal {signal:g}"])

    return run_ingest(db_path, "synthetic", arguments, collect, report=report or _quiet)


def ingest_files(db_path: Path, paths: list[str], *, report: Reporter | None = None) -> RunSummary:
    """Load per-ticker CSV/Parquet price files (see `ingest.sources.files`)."""

    def collect(say: Reporter) -> SourceBatch:
        prices, prerejected, files = [], [], []
        for pattern in paths:
            with progress_bar(f"reading {pattern}") as update:
                read = read_price_files(pattern, progress=update)
            prices.append(read.prices)
            prerejected.append(read.prerejected)
            files.extend(read.files)
        say(f"read {len(files):,} file(s)")
        return SourceBatch(
            frames={"prices": pa.concat_tables(prices)},
            prerejected={"prices": pd.concat(prerejected, ignore_index=True)},
            files=files,
        )

    return run_ingest(db_path, "csv", {"paths": paths}, collect, report=report or _quiet)


def last_price_dates(db_path: Path) -> dict[str, dt.date]:
    """Each ticker's last stored trade date (for incremental downloads); empty for a new database."""
    connection = warehouse.connect(db_path)
    try:
        warehouse.ensure_schema(connection)
        rows = connection.execute("select ticker, max(trade_date) from raw.prices group by ticker").fetchall()
    finally:
        connection.close()
    return dict(rows)


def ingest_yahoo(
    db_path: Path,
    *,
    tickers: list[str] | None = None,
    universe_list: str = "all",
    allow_unknown: bool = False,
    start: dt.date | None = None,
    end: dt.date | None = None,
    full_refresh: bool = False,
    include_events: bool = True,
    chunk_size: int = 50,
    client=None,
    sleep=None,
    report: Reporter | None = None,
) -> RunSummary:
    """Download prices (and events) from Yahoo Finance, incrementally from each ticker's last stored date."""
    from ingest.sources import yahoo

    universe = load_universe()
    if tickers and allow_unknown:
        chosen = [t.strip().upper() for t in tickers if t.strip()]
    else:
        chosen = select_tickers(universe, universe_list, tickers)
    last_dates = {} if full_refresh else last_price_dates(db_path)
    skip_events = set(universe.loc[universe["asset_class"] != "equity", "ticker"])
    arguments = {
        "tickers": chosen,
        "start": start,
        "end": end,
        "full_refresh": full_refresh,
        "events": include_events,
    }

    def collect(say: Reporter) -> SourceBatch:
        say(f"downloading {len(chosen)} ticker(s) from Yahoo Finance in chunks of {chunk_size}")
        with progress_bar("yfinance") as update:
            fetched = yahoo.fetch_yahoo(
                chosen,
                last_dates={t: d for t, d in last_dates.items() if t in set(chosen)},
                start=start,
                end=end,
                chunk_size=chunk_size,
                include_events=include_events,
                skip_events=skip_events,
                progress=lambda stage, done, total: update(done, total),
                client=client,
                **({"sleep": sleep} if sleep else {}),
            )
        notes = [f"{fetched.requests_made} request(s), {fetched.retries} retried after rate limiting"]
        if fetched.empty_tickers:
            notes.append(f"no data for {len(fetched.empty_tickers)} ticker(s): {', '.join(fetched.empty_tickers)}")
        if fetched.failed_tickers:
            notes.append(
                "failed after retries: " + "; ".join(f"{t} ({m})" for t, m in sorted(fetched.failed_tickers.items()))
            )
        if getattr(fetched, "event_errors", None):
            notes.append(
                f"events not fetched for {len(fetched.event_errors)} ticker(s): {', '.join(fetched.event_errors)}"
            )
        frames = {"prices": fetched.prices}
        if include_events:
            frames.update(
                earnings=fetched.earnings,
                analyst_actions=fetched.analyst_actions,
                insider_trades=fetched.insider_trades,
            )
        return SourceBatch(frames=frames, notes=notes)

    return run_ingest(db_path, "yfinance", arguments, collect, report=report or _quiet)


def ingest_sentiment(
    db_path: Path,
    *,
    file: str | None = None,
    tickers: list[str] | None = None,
    universe_list: str = "all",
    start: dt.date | None = None,
    end: dt.date | None = None,
    http_get=None,
    sleep=None,
    report: Reporter | None = None,
) -> RunSummary:
    """Load daily sentiment from a CSV file, or from EODHD's API (key in $EODHD_API_KEY)."""
    from ingest.sources import eodhd

    if file is None:
        if not os.environ.get("EODHD_API_KEY"):
            raise SourceError("No EODHD API key: set EODHD_API_KEY, or pass --file to load sentiment from a CSV file.")
        universe = load_universe()
        chosen = select_tickers(universe, universe_list, tickers)
        chosen = [t for t in chosen if t in set(universe.loc[universe["asset_class"] == "equity", "ticker"])] or chosen
    end = end or dt.date.today()
    start = start or end - dt.timedelta(days=365)
    arguments = {"file": file, "tickers": tickers, "start": start, "end": end}

    def collect(say: Reporter) -> SourceBatch:
        if file is not None:
            say(f"reading sentiment from {file}")
            frame = eodhd.read_sentiment_file(file)
        else:
            say(f"fetching EODHD sentiment for {len(chosen)} ticker(s), {start} to {end}")
            extra = {k: v for k, v in {"http_get": http_get, "sleep": sleep}.items() if v is not None}
            frame = eodhd.fetch_eodhd_sentiment(chosen, start=start, end=end, **extra)
        return SourceBatch(frames={"sentiment": frame if len(frame) else empty_frame("sentiment")})

    return run_ingest(db_path, "sentiment", arguments, collect, report=report or _quiet)


def _quiet(_message: str) -> None:
    return None

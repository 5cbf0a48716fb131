"""One function per source: collect its data and load it through `ingest.load.run_ingest`.

These are what the CLI calls and what tests call. Each takes the connection its caller opened (read-write),
an optional `report` (stage lines) and `progress` (progress display), and returns the run's `RunSummary`.
"""

from __future__ import annotations

import datetime as dt
import os

import duckdb
import pandas as pd
import pyarrow as pa

from ingest.errors import SourceError
from ingest.frames import empty_frame
from ingest.load import Progress, Reporter, RunSummary, SourceBatch, no_progress, quiet, run_ingest
from ingest.sources.files import find_inputs, read_files, unique_files
from ingest.universe import load_universe, select_tickers
from store import relation_exists

EVENT_DATASETS = ("earnings", "analyst_actions", "insider_trades")


def ingest_synthetic(
    connection: duckdb.DuckDBPyConnection,
    *,
    seed: int = 42,
    years: float = 5.0,
    end: dt.date | None = None,
    signal: float = 0.0,
    n_tickers: int | None = None,
    regime: str | None = None,
    shift_on: dt.date | None = None,
    shift_to: str = "crisis",
    report: Reporter = quiet,
) -> RunSummary:
    """Generate the built-in synthetic market (prices, sentiment, events) and load it; `regime`, `shift_on` and
    `shift_to` hold the hidden market state or plant a regime shift (`generate_market`)."""
    from ingest.sources.synthetic import generate_market

    end = end or dt.date(2025, 12, 31)
    arguments = {"seed": seed, "years": years, "end": end, "signal": signal, "n_tickers": n_tickers}
    if regime is not None:
        arguments["regime"] = regime
    if shift_on is not None:
        arguments.update(shift_on=shift_on, shift_to=shift_to)

    def collect(say: Reporter) -> SourceBatch:
        say(f"generating the synthetic market (seed {seed}, {years:g} years to {end}, signal {signal:g})")
        market = generate_market(
            load_universe(),
            seed=seed,
            years=years,
            end=end,
            signal=signal,
            n_tickers=n_tickers,
            regime=regime,
            shift_on=shift_on,
            shift_to=shift_to,
        )
        frames = {
            "prices": market.prices,
            "sentiment": market.sentiment,
            "earnings": market.earnings,
            "analyst_actions": market.analyst_actions,
            "insider_trades": market.insider_trades,
        }
        tickers = market.prices["ticker"].nunique()
        return SourceBatch(frames=frames, notes=[f"synthetic market: {tickers} series, seed {seed}, signal {signal:g}"])

    return run_ingest(connection, "synthetic", arguments, collect, report=report)


def ingest_files(
    connection: duckdb.DuckDBPyConnection,
    paths: list[str],
    *,
    report: Reporter = quiet,
    progress: Progress = no_progress,
) -> RunSummary:
    """Load per-ticker CSV/Parquet price files (see `ingest.sources.files`): each file once, however many of
    `paths` reach it; links out of an input folder are not followed."""

    def collect(say: Reporter) -> SourceBatch:
        found = [(pattern, *find_inputs(pattern)) for pattern in paths]
        named = [(position, path) for position, (_, matched, _) in enumerate(found) for path in matched]
        kept, duplicates = unique_files([path for _, path in named])
        kept_paths = set(map(str, kept))
        prices, prerejected, files = [], [], []
        for position, (pattern, _, _) in enumerate(found):
            # A file kept under a name is read with the first pattern that named it that way.
            to_read = [path for owner, path in named if owner == position and str(path) in kept_paths]
            kept_paths -= set(map(str, to_read))
            with progress(f"reading {pattern}") as update:
                read = read_files(to_read, progress=update)
            prices.append(read.prices)
            prerejected.append(read.prerejected)
            files.extend(read.files)
        skipped = [report for _, _, not_followed in found for report in not_followed] + duplicates
        say(f"read {len(files):,} file(s)" + (f", skipped {len(skipped):,}" if skipped else ""))
        return SourceBatch(
            frames={"prices": pa.concat_tables(prices)},
            prerejected={"prices": pd.concat(prerejected, ignore_index=True)},
            files=files + skipped,
        )

    return run_ingest(connection, "csv", {"paths": paths}, collect, report=report)


def last_price_dates(connection: duckdb.DuckDBPyConnection) -> dict[str, tuple[dt.date, float]]:
    """Each ticker's last stored trade date and its adjustment factor (adj_close / close) on that date.

    Empty for a new database. The factor lets an incremental download notice that the source has
    re-adjusted its history (a new dividend or split), which calls for a full refresh of that ticker.
    """
    if not relation_exists(connection, "raw.prices"):
        return {}
    rows = connection.execute(
        """
        select ticker, trade_date, coalesce(adj_close / nullif(close, 0), 1.0)
        from raw.prices
        qualify row_number() over (partition by ticker order by trade_date desc) = 1
        """
    ).fetchall()
    return {ticker: (day, factor) for ticker, day, factor in rows}


def readjusted_tickers(prices: pd.DataFrame, stored: dict[str, tuple[dt.date, float]]) -> list[str]:
    """Tickers whose re-fetched last stored day has a different adjustment factor than the stored one."""
    if prices.empty or not stored:
        return []
    frame = prices.loc[:, ["ticker", "trade_date", "close", "adj_close"]].copy()
    frame["trade_date"] = pd.to_datetime(frame["trade_date"]).dt.date
    changed = []
    for ticker, (day, factor) in stored.items():
        row = frame[(frame["ticker"].str.upper() == ticker) & (frame["trade_date"] == day)]
        if row.empty:
            continue
        close, adj_close = float(row["close"].iloc[0]), float(row["adj_close"].iloc[0])
        if close > 0 and adj_close > 0 and abs(adj_close / close - factor) > 1e-6 * max(abs(factor), 1.0):
            changed.append(ticker)
    return sorted(changed)


def ingest_yahoo(
    connection: duckdb.DuckDBPyConnection,
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
    report: Reporter = quiet,
    progress: Progress = no_progress,
) -> RunSummary:
    """Download prices (and events) from Yahoo Finance, incrementally from each ticker's last stored date."""
    from ingest.sources import yahoo

    universe = load_universe()
    if tickers and allow_unknown:
        chosen = [t.strip().upper() for t in tickers if t.strip()]
    else:
        chosen = select_tickers(universe, universe_list, tickers)
    stored = {} if full_refresh else last_price_dates(connection)
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
        options = dict(end=end, chunk_size=chunk_size, client=client, **({"sleep": sleep} if sleep else {}))
        with progress("yfinance") as update:
            fetched = yahoo.fetch_yahoo(
                chosen,
                last_dates={t: day for t, (day, _) in stored.items() if t in set(chosen)},
                start=start,
                include_events=include_events,
                skip_events=skip_events,
                progress=lambda stage, done, total: update(done, total),
                **options,
            )
        if fetched.failed_tickers and fetched.prices.empty:
            # Nothing came back and something failed: a network or Yahoo outage, not a quiet day. The run is
            # recorded as failed (and the command exits 1), so a daily routine stops here instead of scoring
            # yesterday's data as today's.
            ticker, message = sorted(fetched.failed_tickers.items())[0]
            raise SourceError(
                f"Yahoo Finance: no ticker returned data and {len(fetched.failed_tickers)} of {len(chosen)} failed "
                f"after retries (e.g. {ticker}: {message}); nothing was loaded: check the connection (or wait out "
                "Yahoo's rate limit) and run again."
            )
        notes = [f"{fetched.requests_made} request(s), {fetched.retries} retried after rate limiting"]
        readjusted = readjusted_tickers(fetched.prices, {t: v for t, v in stored.items() if t in set(chosen)})
        if readjusted:
            # The source rewrote these tickers' adjusted history: fetch it whole so adj_close stays consistent.
            say(f"adjusted history changed for {len(readjusted)} ticker(s); fetching their full history")
            full = yahoo.fetch_yahoo(readjusted, start=start, include_events=False, **options)
            kept = ~fetched.prices["ticker"].str.upper().isin(readjusted)
            fetched.prices = pd.concat([fetched.prices[kept], full.prices], ignore_index=True)
            fetched.prices["line_number"] = range(1, len(fetched.prices) + 1)
            notes.append(f"full refresh after a dividend or split: {', '.join(readjusted)}")
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

    return run_ingest(connection, "yfinance", arguments, collect, report=report)


def ingest_sentiment(
    connection: duckdb.DuckDBPyConnection,
    *,
    file: str | None = None,
    tickers: list[str] | None = None,
    universe_list: str = "all",
    start: dt.date | None = None,
    end: dt.date | None = None,
    http_get=None,
    sleep=None,
    report: Reporter = quiet,
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

    return run_ingest(connection, "sentiment", arguments, collect, report=report)

"""Per-ticker price files: CSV (optionally gzipped) or Parquet, in the usual layouts.

Accepted layouts, column names matched case-insensitively (spaces, dashes and underscores alike):
- Yahoo: `Date,Open,High,Low,Close,Adj Close,Volume`, the ticker taken from the file name
  (`AAPL.csv`, `^VIX.csv`, `AAPL_data.csv.gz` -> AAPL);
- a dump with a `Name`, `Ticker` or `Symbol` column holding the ticker (the S&P 500 dump's layout);
- Parquet files with the same columns.

Every value is read as text; the loader parses and validates. Lines the CSV parser cannot split
(wrong number of fields) and blank lines come back as `prerejected` rows, so that the line count of
every file is accounted for. A file missing required columns is reported with their names and its
rows are quarantined under `missing_required_columns`; an empty or unreadable file is reported and
the other files still load.
"""

from __future__ import annotations

import csv
import glob
import gzip
import json
import re
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ingest.errors import MissingColumnsError, NoInputError
from ingest.frames import PRICE_COLUMNS

SUFFIXES = (".csv", ".csv.gz", ".txt", ".txt.gz", ".parquet", ".pq")
REQUIRED = ("trade_date", "open", "high", "low", "close", "volume")
ALIASES = {
    "date": "trade_date",
    "tradedate": "trade_date",
    "datetime": "trade_date",
    "timestamp": "trade_date",
    "open": "open",
    "high": "high",
    "low": "low",
    "close": "close",
    "adjclose": "adj_close",
    "adjustedclose": "adj_close",
    "volume": "volume",
    "vol": "volume",
    "ticker": "ticker",
    "symbol": "ticker",
    "name": "ticker",
}
REJECT_COLUMNS = ("source_file", "line_number", "ticker", "record_date", "rule", "detail", "record")


@dataclass
class FileReport:
    """What happened to one input file: status is loaded, empty, unreadable or missing_columns."""

    source_file: str
    status: str
    rows_read: int
    message: str = ""


@dataclass
class FileRead:
    """The rows of one or many files: a prices frame, rows rejected while reading, and per-file reports."""

    prices: pa.Table
    prerejected: pd.DataFrame
    files: list[FileReport] = field(default_factory=list)


def find_files(pattern: str | Path) -> list[Path]:
    """Files named by a file path, a directory (its price files, not recursive) or a glob, sorted."""
    path = Path(pattern)
    if path.is_dir():
        found = [p for p in path.iterdir() if p.is_file() and p.name.lower().endswith(SUFFIXES)]
    elif path.is_file():
        found = [path]
    else:
        found = [Path(p) for p in glob.glob(str(pattern), recursive=True) if Path(p).is_file()]
    if not found:
        raise NoInputError(
            f"No price files found at {pattern}: give a file, a directory of .csv/.csv.gz/.parquet files, "
            "or a quoted glob such as 'data/*.csv.gz'."
        )
    return sorted(found)


def ticker_from_filename(path: Path) -> str:
    """`AAPL_data.csv.gz` -> AAPL, `^VIX.csv` -> ^VIX, `brk-b.parquet` -> BRK-B."""
    name = path.name
    for suffix in (".gz", ".csv", ".txt", ".parquet", ".pq"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    name = re.sub(r"[_\-.](data|prices|daily|ohlcv)$", "", name, flags=re.IGNORECASE)
    return name.upper()


def canonical_columns(names: list[str]) -> dict[str, str]:
    """Map a file's column names to canonical ones (first match wins); unknown columns are left out."""
    mapping: dict[str, str] = {}
    for name in names:
        canonical = ALIASES.get(re.sub(r"[\s_\-]", "", name.strip().lower()))
        if canonical and canonical not in mapping.values():
            mapping[name] = canonical
    return mapping


PRICE_SCHEMA = pa.schema([pa.field(c, pa.int64() if c == "line_number" else pa.string()) for c in PRICE_COLUMNS])


def _empty_prices() -> pa.Table:
    return PRICE_SCHEMA.empty_table()


def _empty_rejects() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in REJECT_COLUMNS})


def _read_header(path: Path) -> list[str]:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:
        line = handle.readline()
    return next(csv.reader([line]), []) if line.strip() else []


def _read_table(path: Path) -> tuple[pa.Table, list[tuple[int, str]]]:
    """All columns as text, plus (line number, text) of lines the CSV parser could not split."""
    if path.name.lower().endswith((".parquet", ".pq")):
        table = pq.read_table(path)
        return table.cast(pa.schema([pa.field(f.name, pa.string()) for f in table.schema])), []
    # A blank line becomes a row of empty strings (not skipped), so line numbers stay exact.
    header = _read_header(path) if path.stat().st_size else []
    if not header:
        return pa.table({}), []
    bad_lines: list[tuple[int, str]] = []

    def keep_bad_line(row: pacsv.InvalidRow) -> str:
        bad_lines.append((row.number, row.text))
        return "skip"

    table = pacsv.read_csv(
        path,
        # Single-threaded so the parser knows the physical line number of a bad line.
        read_options=pacsv.ReadOptions(use_threads=False, encoding="utf-8"),
        parse_options=pacsv.ParseOptions(invalid_row_handler=keep_bad_line, ignore_empty_lines=False),
        convert_options=pacsv.ConvertOptions(
            column_types={name: pa.string() for name in header}, strings_can_be_null=False
        ),
    )
    return table, bad_lines


def _line_numbers(total_rows: int, bad_lines: list[tuple[int, str]], first_line: int) -> np.ndarray:
    """Physical line numbers of the rows the parser kept, given the lines it skipped."""
    skipped = np.array(sorted(number for number, _ in bad_lines), dtype=np.int64)
    candidates = np.arange(first_line, first_line + total_rows + len(skipped), dtype=np.int64)
    return candidates[~np.isin(candidates, skipped)][:total_rows]


def _reject_rows(source_file: str, numbers, rule: str, detail: str, records) -> list[dict]:
    return [
        {
            "source_file": source_file,
            "line_number": int(number),
            "ticker": None,
            "record_date": None,
            "rule": rule,
            "detail": detail,
            "record": record,
        }
        for number, record in zip(numbers, records, strict=True)
    ]


def read_file(path: Path) -> tuple[pa.Table, pd.DataFrame, FileReport]:
    """Read one price file into (prices table, prerejected rows, report). Never raises for bad content."""
    source_file = str(path)
    try:
        table, bad_lines = _read_table(path)
    except (OSError, EOFError, zlib.error, pa.ArrowInvalid, UnicodeDecodeError) as error:
        message = f"{source_file} could not be read: {str(error).splitlines()[0]}"
        return _empty_prices(), _empty_rejects(), FileReport(source_file, "unreadable", 0, message)

    rows_read = table.num_rows + len(bad_lines)
    if rows_read == 0:
        return (
            _empty_prices(),
            _empty_rejects(),
            FileReport(source_file, "empty", 0, f"{source_file} has no rows"),
        )

    is_parquet = path.name.lower().endswith((".parquet", ".pq"))
    first_line = 1 if is_parquet else 2  # CSV line 1 is the header; Parquet rows are counted from 1
    line_numbers = _line_numbers(table.num_rows, bad_lines, first_line)
    rejects = _reject_rows(
        source_file,
        [number for number, _ in bad_lines],
        "malformed_line",
        "wrong number of fields for the header",
        [json.dumps({"line": text}) for _, text in bad_lines],
    )
    mapping = canonical_columns(table.column_names)
    missing = [c for c in REQUIRED if c not in mapping.values()]
    if missing:
        error = MissingColumnsError(source_file, list(missing), table.column_names)
        records = [json.dumps(row, default=str) for row in table.to_pylist()]
        rejects += _reject_rows(source_file, line_numbers, "missing_required_columns", str(error), records)
        rejected = pd.DataFrame(rejects, columns=REJECT_COLUMNS)
        return _empty_prices(), rejected, FileReport(source_file, "missing_columns", rows_read, str(error))

    columns = {canonical: table.column(name) for name, canonical in mapping.items()}
    if "ticker" not in columns:
        columns["ticker"] = pa.array([ticker_from_filename(path)] * table.num_rows, pa.string())
    if "adj_close" not in columns:
        columns["adj_close"] = pa.nulls(table.num_rows, pa.string())
    columns["source_file"] = pa.array([source_file] * table.num_rows, pa.string())
    columns["line_number"] = pa.array(line_numbers, pa.int64())
    prices = pa.table({c: columns[c] for c in PRICE_COLUMNS}, schema=PRICE_SCHEMA)

    value_columns = [c for c in PRICE_COLUMNS if c not in ("ticker", "source_file", "line_number")]
    blank = None
    for column in value_columns:
        empty = pc.equal(pc.utf8_trim_whitespace(pc.fill_null(prices.column(column), "")), "")
        blank = empty if blank is None else pc.and_(blank, empty)
    if pc.any(blank).as_py():
        blank_lines = prices.filter(blank).column("line_number").to_pylist()
        rejects += _reject_rows(source_file, blank_lines, "blank_line", "the line is empty", ["{}"] * len(blank_lines))
        prices = prices.filter(pc.invert(blank))
    return prices, pd.DataFrame(rejects, columns=REJECT_COLUMNS), FileReport(source_file, "loaded", rows_read)


def read_price_files(pattern: str | Path, *, progress=None, workers: int = 4) -> FileRead:
    """Read every file matched by `pattern` (see `find_files`); files are read in parallel threads.

    `progress(done, total)` is called after each file if given.
    """
    paths = find_files(pattern)
    results: list[tuple[pd.DataFrame, pd.DataFrame, FileReport]] = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for done, result in enumerate(pool.map(read_file, paths), start=1):
            results.append(result)
            if progress:
                progress(done, len(paths))
    price_tables = [r[0] for r in results if r[0].num_rows]
    reject_frames = [r[1] for r in results if len(r[1])]
    prices = pa.concat_tables(price_tables) if price_tables else _empty_prices()
    rejected = pd.concat(reject_frames, ignore_index=True) if reject_frames else _empty_rejects()
    return FileRead(prices=prices, prerejected=rejected, files=[r[2] for r in results])

"""Per-ticker price files: CSV (optionally gzipped) or Parquet, in the usual layouts.

Accepted layouts, column names matched case-insensitively (spaces, dashes and underscores alike):
- Yahoo: `Date,Open,High,Low,Close,Adj Close,Volume`, the ticker taken from the file name
  (`AAPL.csv`, `^VIX.csv`, `AAPL_data.csv.gz` -> AAPL);
- a dump with a `Name`, `Ticker` or `Symbol` column holding the ticker (the S&P 500 dump's layout);
- Parquet files with the same columns.

Every value is read as text; the loader parses and validates. Lines the CSV parser cannot split
(wrong number of fields) and blank lines come back as `prerejected` rows, so that the line count of
every file is accounted for. A file missing required columns is reported with their names and its
rows are quarantined under `missing_required_columns`; a file that names a column it needs twice
(`Close,Close`) has its rows quarantined under `duplicate_columns`; an empty or unreadable file is
reported and the other files still load.

Which files are read (`find_inputs`, `read_inputs`): a path named on the command line is read as given, even
when it is a symbolic link (that is the user's choice). Inside a folder or a glob's matches, a link whose
target lies outside the link's folder is not followed, so an input folder cannot pull in any readable file of
the machine; it is reported as `skipped`. The same file reached twice (named twice, through its folder and its
path, or through a link that stays inside the folder) is read once: the other names are reported `skipped`.
"""

from __future__ import annotations

import csv
import glob
import gzip
import json
import os
import re
import zlib
from collections import Counter
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
    """What happened to one input file: status is loaded, empty, unreadable, missing_columns, duplicate_columns
    or skipped (not read: a link out of its folder, a broken link, or a second name of a file already read)."""

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
    """Files named by a file path, a directory (its price files, not recursive) or a glob, sorted (see
    `find_inputs`; links that are not followed are left out)."""
    return find_inputs(pattern)[0]


def find_inputs(pattern: str | Path) -> tuple[list[Path], list[FileReport]]:
    """Files named by a file path, a directory (its price files, not recursive) or a glob, sorted, and the
    reports of the entries that are not followed: a link out of its folder, a broken link.

    Raises NoInputError when the pattern names nothing at all.
    """
    path = Path(pattern)
    if path.is_dir():
        candidates = [p for p in path.iterdir() if p.name.lower().endswith(SUFFIXES)]
    elif path.is_file():
        return [path], []  # named explicitly: read it, link or not
    else:
        candidates = [Path(p) for p in glob.glob(str(pattern), recursive=True)]
    found: list[Path] = []
    skipped: list[FileReport] = []
    for candidate in sorted(candidates):
        reason = _not_followed(candidate)
        if reason:
            skipped.append(FileReport(str(candidate), "skipped", 0, f"{candidate} {reason}"))
        elif candidate.is_file():
            found.append(candidate)
    if not found and not skipped:
        raise NoInputError(
            f"No price files found at {pattern}: give a file, a directory of .csv/.csv.gz/.parquet files, "
            "or a quoted glob such as 'data/*.csv.gz'."
        )
    return found, skipped


def _not_followed(path: Path) -> str | None:
    """Why a folder entry is not read (a link out of its folder, a broken link), or None."""
    if not path.is_symlink():
        return None
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError):  # missing target, or a loop of links
        return "is a broken link: not followed"
    folder = path.parent.resolve()
    if not target.is_relative_to(folder):
        return (
            f"is a link that points outside {path.parent} (to {target}): not followed; name the file itself "
            "on the command line to read it"
        )
    return None if target.is_file() else "is a link to something that is not a file: not followed"


def _file_identity(path: Path) -> tuple:
    """What makes two names the same file: device and inode (links and `a/../b` included); the resolved path
    where the file system has no inode numbers."""
    try:
        status = path.stat()
    except OSError:
        return ("path", os.path.normcase(os.path.abspath(path)))
    if status.st_ino:
        return ("inode", status.st_dev, status.st_ino)
    return ("path", os.path.normcase(str(path.resolve())))


def unique_files(paths: list[Path]) -> tuple[list[Path], list[FileReport]]:
    """Each file once, in order: of several names of one file the first that is not a link is kept (so a file
    is loaded under its own name, not a link's), else the first; the other names come back as `skipped`."""
    identities = [_file_identity(path) for path in paths]
    groups: dict[tuple, list[int]] = {}
    for index, identity in enumerate(identities):
        groups.setdefault(identity, []).append(index)
    kept = {key: next((i for i in found if not paths[i].is_symlink()), found[0]) for key, found in groups.items()}
    unique: list[Path] = []
    skipped: list[FileReport] = []
    for index, (path, identity) in enumerate(zip(paths, identities, strict=True)):
        keeper = paths[kept[identity]]
        if index == kept[identity]:
            unique.append(path)
        elif str(path) == str(keeper):
            skipped.append(FileReport(str(path), "skipped", 0, f"{path} was named more than once: read once"))
        else:
            skipped.append(FileReport(str(path), "skipped", 0, f"{path} is the same file as {keeper}: read once"))
    return unique, skipped


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


def _rows(table: pa.Table) -> list[tuple]:
    """The rows of `table` as tuples of values (column names may repeat, so not as dicts)."""
    columns = [column.to_pylist() for column in table.columns]
    return list(zip(*columns, strict=True)) if columns else []


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
    counts = Counter(table.column_names)
    doubled = [name for name in counts if counts[name] > 1 and name in mapping]
    if doubled:
        # Two columns of one name: which one holds the closes cannot be told, so none of the file is loaded.
        header = ", ".join(table.column_names)
        message = (
            f"{source_file} has the column {', '.join(repr(n) for n in doubled)} twice (header: {header}): "
            "rename or remove one of them"
        )
        names = [name if counts[name] == 1 else f"{name}#{index + 1}" for index, name in enumerate(table.column_names)]
        records = [json.dumps(dict(zip(names, row, strict=True)), default=str) for row in _rows(table)]
        rejects += _reject_rows(source_file, line_numbers, "duplicate_columns", message, records)
        rejected = pd.DataFrame(rejects, columns=REJECT_COLUMNS)
        return _empty_prices(), rejected, FileReport(source_file, "duplicate_columns", rows_read, message)
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
    """Read every file matched by `pattern` (see `find_inputs`), each file once; in parallel threads.

    `progress(done, total)` is called after each file if given.
    """
    found, not_followed = find_inputs(pattern)
    paths, duplicates = unique_files(found)
    read = read_files(paths, progress=progress, workers=workers)
    read.files = read.files + not_followed + duplicates
    return read


def read_files(paths: list[Path], *, progress=None, workers: int = 4) -> FileRead:
    """Read `paths` (in parallel threads) into one `FileRead`; `progress(done, total)` after each file."""
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

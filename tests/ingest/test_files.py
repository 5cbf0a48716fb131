"""The CSV/Parquet source: layouts, line numbers, and bad files reported without stopping the batch."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingest.errors import NoInputError
from ingest.sources.files import read_price_files, ticker_from_filename

YAHOO = "Date,Open,High,Low,Close,Adj Close,Volume\n"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.name.endswith(".gz"):
        with gzip.open(path, "wt") as handle:
            handle.write(text)
    else:
        path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("name", "ticker"),
    [("AAPL.csv", "AAPL"), ("^VIX.csv", "^VIX"), ("AAL_data.csv.gz", "AAL"), ("brk-b.parquet", "BRK-B")],
)
def test_ticker_from_filename(name, ticker):
    assert ticker_from_filename(Path(name)) == ticker


def test_yahoo_layout_takes_the_ticker_from_the_file_name(tmp_path):
    write(tmp_path / "SPY.csv", YAHOO + "2020-01-02,1,2,0.5,1.5,1.4,100\n2020-01-03,1,2,0.5,1.5,1.4,200\n")
    read = read_price_files(tmp_path)
    prices = read.prices.to_pandas()
    assert list(prices["ticker"]) == ["SPY", "SPY"]
    assert list(prices["adj_close"]) == ["1.4", "1.4"]
    assert list(prices["line_number"]) == [2, 3]
    assert [f.status for f in read.files] == ["loaded"]


def test_name_column_layout_gzip_and_case_insensitive_headers(tmp_path):
    write(
        tmp_path / "dump_data.csv.gz",
        "date,HIGH,low,Open,close,VOLUME,Name\n2015-01-12,11,9,10,10.5,100,aal\n2015-01-13,11,9,10,10.5,100,aal\n",
    )
    prices = read_price_files(tmp_path / "*.csv.gz").prices.to_pandas()
    assert list(prices["ticker"]) == ["aal", "aal"]  # upper-cased by validation, not by the reader
    assert prices["adj_close"].isna().all()
    assert list(prices["open"]) == ["10", "10"]


def test_parquet_files_are_read_with_row_numbers(tmp_path):
    table = pa.table(
        {
            "Date": pa.array(pd.to_datetime(["2020-01-02", "2020-01-03"]).date),
            "Open": [1.0, 2.0],
            "High": [2.0, 3.0],
            "Low": [0.5, 1.5],
            "Close": [1.5, 2.5],
            "Volume": [10, 20],
        }
    )
    pq.write_table(table, tmp_path / "QQQ.parquet")
    prices = read_price_files(tmp_path).prices.to_pandas()
    assert list(prices["ticker"]) == ["QQQ", "QQQ"]
    assert list(prices["trade_date"]) == ["2020-01-02", "2020-01-03"]
    assert list(prices["line_number"]) == [1, 2]


def test_malformed_and_blank_lines_are_prerejected_with_their_line_numbers(tmp_path):
    text = YAHOO + "2020-01-02,1,2,0.5,1.5,1.4,100\n2020-01-03,1,2\n\n2020-01-06,1,2,0.5,1.5,1.4,100\n"
    write(tmp_path / "AAA.csv", text)
    read = read_price_files(tmp_path)
    assert list(read.prices.column("line_number").to_pylist()) == [2, 5]
    rejected = read.prerejected.set_index("line_number")["rule"].to_dict()
    assert rejected == {3: "malformed_line", 4: "blank_line"}
    assert read.files[0].rows_read == 4


def test_missing_columns_are_named_and_the_rest_of_the_batch_loads(tmp_path):
    write(tmp_path / "GOOD.csv", YAHOO + "2020-01-02,1,2,0.5,1.5,1.4,100\n")
    write(tmp_path / "BAD.csv", "Date,Open,Close\n2020-01-02,1,1.5\n2020-01-03,1,1.5\n")
    read = read_price_files(tmp_path)
    by_file = {Path(f.source_file).name: f for f in read.files}
    assert by_file["BAD.csv"].status == "missing_columns"
    assert "missing required column(s): high, low, volume" in by_file["BAD.csv"].message
    assert read.prices.num_rows == 1
    assert list(read.prerejected["rule"]) == ["missing_required_columns"] * 2
    assert list(read.prerejected["line_number"]) == [2, 3]


def test_empty_and_unreadable_files_are_reported_not_raised(tmp_path):
    write(tmp_path / "GOOD.csv", YAHOO + "2020-01-02,1,2,0.5,1.5,1.4,100\n")
    write(tmp_path / "EMPTY.csv", "")
    write(tmp_path / "HEADER.csv", YAHOO)
    (tmp_path / "CORRUPT.csv.gz").write_bytes(b"\x1f\x8b\x08\x00not really gzip")
    read = read_price_files(tmp_path)
    status = {Path(f.source_file).name: f.status for f in read.files}
    assert status == {
        "GOOD.csv": "loaded",
        "EMPTY.csv": "empty",
        "HEADER.csv": "empty",
        "CORRUPT.csv.gz": "unreadable",
    }
    assert read.prices.num_rows == 1


def test_nothing_matched_is_a_clear_error(tmp_path):
    with pytest.raises(NoInputError, match="No price files found"):
        read_price_files(tmp_path / "nothing-*.csv")

"""Validation rules: each bad row gets the right rule, the first broken rule wins, nothing is lost."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pandas as pd
import pyarrow as pa
import pytest
from helpers import PROJECT_DIR, price_input_rows

from ingest.validate import validate

TODAY = dt.date(2024, 6, 28)


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        ({"trade_date": None}, "missing_date"),
        ({"trade_date": "2024-02-30"}, "unparseable_date"),
        ({"trade_date": "2030-01-02"}, "future_date"),
        ({"close": "ten"}, "unparseable_number"),
        ({"ticker": None}, "missing_ticker"),
        ({"ticker": "BAD TICKER"}, "bad_ticker"),
        ({"open": None}, "missing_price"),
        ({"low": "0", "open": "0.5"}, "non_positive_price"),
        ({"adj_close": "-1"}, "non_positive_price"),
        ({"high": "8"}, "high_below_low"),
        ({"open": "12"}, "ohlc_not_bracketed"),
        ({"close": "8.5"}, "ohlc_not_bracketed"),
        ({"volume": None}, "missing_volume"),
        ({"volume": "-5"}, "negative_volume"),
    ],
)
def test_each_rule_rejects_its_row_and_keeps_the_good_one(change, rule):
    frame = price_input_rows({}, change)
    result = validate("prices", frame, today=TODAY)
    assert result.rows_accepted == 1
    rejects = result.rejects.to_pylist()
    assert [r["rule"] for r in rejects] == [rule]
    assert rejects[0]["source_file"] == "test.csv" and rejects[0]["line_number"] == 3
    assert rejects[0]["detail"]


def test_first_broken_rule_in_priority_order_wins():
    # high < low AND negative volume: the price rule comes first in the list.
    result = validate("prices", price_input_rows({"high": "8", "volume": "-1"}), today=TODAY)
    assert result.rejects.column("rule").to_pylist() == ["high_below_low"]


def test_duplicate_keys_keep_the_first_valid_copy_and_name_it():
    frame = price_input_rows({"close": "10"}, {"close": "10.2"}, {"high": "1"}, {"trade_date": "2024-01-03"})
    frame.loc[2, "trade_date"] = "2024-01-02"  # an invalid copy of the same key does not count as the kept one
    result = validate("prices", frame, today=TODAY)
    accepted = result.accepted.to_pandas()
    assert list(accepted["line_number"]) == [2, 5]
    assert accepted.loc[0, "close"] == 10.0
    lines, rules = result.rejects.column("line_number").to_pylist(), result.rejects.column("rule").to_pylist()
    rules = dict(zip(lines, rules, strict=True))
    assert rules == {3: "duplicate_key", 4: "high_below_low"}
    assert "test.csv:2 (kept)" in result.rejects.column("detail").to_pylist()[0]


def test_rows_read_equal_accepted_plus_rejected_on_a_messy_batch():
    changes = [{}, {"open": None}, {"trade_date": "x"}, {"high": "1"}, {}, {"volume": "-1"}, {"ticker": ""}]
    result = validate("prices", price_input_rows(*changes), today=TODAY)
    assert result.rows_read == 7
    assert result.rows_accepted + result.rows_rejected == 7
    assert result.rows_rejected == 6  # the second good row duplicates the first


def test_values_are_typed_and_tickers_upper_cased():
    frame = price_input_rows({"ticker": " aaa ", "trade_date": "2024-01-02 00:00:00", "adj_close": ""})
    accepted = validate("prices", frame, today=TODAY).accepted
    row = accepted.to_pylist()[0]
    assert row["ticker"] == "AAA"
    assert row["trade_date"] == dt.date(2024, 1, 2)
    assert row["close"] == 10.5 and row["adj_close"] is None


def test_arrow_input_and_typed_values_are_accepted():
    table = pa.table(
        {
            "ticker": ["AAA", "AAA"],
            "trade_date": [dt.date(2024, 1, 2), dt.date(2024, 1, 3)],
            "open": [10.0, 10.0],
            "high": [11.0, 9.0],
            "low": [9.0, 9.5],
            "close": [10.5, 9.8],
            "adj_close": [None, None],
            "volume": [100, 200],
            "source_file": ["api", "api"],
            "line_number": [1, 2],
        }
    )
    result = validate("prices", table, today=TODAY)
    assert result.rows_accepted == 1
    assert result.rejects.column("rule").to_pylist() == ["high_below_low"]


def test_expectation_results_count_the_failures():
    result = validate(
        "prices", price_input_rows({}, {"volume": "-1"}, {"volume": "-2", "trade_date": "2024-01-04"}), today=TODAY
    )
    by_rule = {r.rule: r for r in result.results}
    assert by_rule["negative_volume"].unexpected_count == 2
    assert by_rule["negative_volume"].success is False
    assert by_rule["missing_ticker"].success is True


def test_sentiment_and_event_rules():
    sentiment = pd.DataFrame(
        {
            "ticker": ["AAA", "AAA", "AAA"],
            "trade_date": ["2024-01-02", "2024-01-03", "2024-01-04"],
            "sentiment_score": ["0.5", "1.5", None],
            "article_count": ["3", "2", "1"],
            "source_file": "s.csv",
            "line_number": [2, 3, 4],
        }
    )
    result = validate("sentiment", sentiment, today=TODAY)
    assert result.rejects.column("rule").to_pylist() == ["sentiment_out_of_range", "missing_sentiment"]
    actions = pd.DataFrame(
        {
            "ticker": ["AAA", "AAA"],
            "action_date": ["2024-01-02", "2024-01-03"],
            "firm": ["Firm A", "Firm B"],
            "action": ["Upgrade", "sideways"],
            "from_grade": ["Hold", "Hold"],
            "to_grade": ["Buy", "Hold"],
            "source_file": "api",
            "line_number": [1, 2],
        }
    )
    result = validate("analyst_actions", actions, today=TODAY)
    assert result.accepted.column("action").to_pylist() == ["upgrade"]
    assert result.rejects.column("rule").to_pylist() == ["bad_action"]


def test_importing_great_expectations_neither_imports_pyspark_nor_ends_a_python_c_process():
    """With the scale extra installed, great_expectations imported pyspark, whose pyspark.sql.connect calls
    sys.exit(0) in a `python -c` process: an ingest run from `python -c` stopped silently."""
    code = (
        "import sys; from ingest.validate import _gx; _gx(); "
        "print('alive', 'pyspark' in sys.modules, flush=True); "
        "import importlib.util; print(importlib.util.find_spec('great_expectations') is not None)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["alive", "False", "True"], result.stderr[-2000:]
    assert "Warning" not in result.stderr

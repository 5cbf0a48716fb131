"""`python -m ingest csv` on a batch with one bad input: the bad file becomes a per-file outcome (quarantined
rows with a rule, or a file reported as skipped or not loaded, with the reason), the rest of the batch loads,
the counts balance, and nobody sees a traceback."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest
from helpers import run_module

HEADER = "Date,Open,High,Low,Close,Adj Close,Volume\n"
GOOD_ROWS = "2020-01-02,10,11,9,10.5,10.4,100\n2020-01-03,10,11,9,10.6,10.5,100\n2020-01-06,10,11,9,10.7,10.6,100\n"


def ingest_csv(db_path: Path, *paths: Path | str):
    result = run_module("ingest", "csv", *(str(p) for p in paths), "--db", str(db_path))
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output[-4000:]
    assert result.returncode == 0, output[-4000:]
    return result


def last_run(db_path: Path) -> dict:
    with duckdb.connect(str(db_path), read_only=True) as connection:
        run = connection.execute(
            "select run_id, status, rows_read, rows_loaded, rows_rejected from raw.ingest_runs "
            "order by started_at desc limit 1"
        ).fetchone()
        files = connection.execute(
            "select source_file, status, rows_read, message from raw.ingest_files where run_id = ?", [run[0]]
        ).fetchall()
        rejects = connection.execute(
            "select source_file, line_number, rule, detail, record from raw.rejects"
        ).fetchall()
        prices = connection.execute("select ticker, count(*) from raw.prices group by ticker").fetchall()
    run_id, status, read, loaded, rejected = run
    assert status == "success"
    assert read == loaded + rejected  # nothing lost
    return {
        "read": read,
        "loaded": loaded,
        "rejected": rejected,
        "files": {Path(f): (s, n, m) for f, s, n, m in files},
        "rejects": rejects,
        "prices": dict(prices),
    }


@pytest.fixture
def good(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    path = folder / "GOOD.csv"
    path.write_text(HEADER + GOOD_ROWS)
    return path


def test_a_duplicated_header_column_quarantines_that_file_only(db_path, good):
    dup = good.parent / "DUP.csv"
    dup.write_text("Date,Open,High,Low,Close,Close,Volume\n2020-01-02,10,11,9,10.5,10.5,100\n2020-01-03,1,2,1,1,1,1\n")
    result = ingest_csv(db_path, dup, good)
    run = last_run(db_path)
    assert run["prices"] == {"GOOD": 3}
    assert (run["read"], run["loaded"], run["rejected"]) == (5, 3, 2)
    status, rows, message = run["files"][dup]
    assert (status, rows) == ("duplicate_columns", 2)
    assert "Close" in message and "twice" in message
    assert {(Path(f).name, line, rule) for f, line, rule, _, _ in run["rejects"]} == {
        ("DUP.csv", 2, "duplicate_columns"),
        ("DUP.csv", 3, "duplicate_columns"),
    }
    assert "DUP.csv has the column 'Close' twice" in result.stdout


def test_impossible_dates_are_quarantined_and_the_batch_loads(db_path, good):
    dates = good.parent / "DATES.csv"
    bad_dates = ["-infinity", "infinity", "0000-00-00", "1200-01-01", "99999-01-01"]
    dates.write_text(HEADER + "".join(f"{d},10,11,9,10.5,10.4,100\n" for d in bad_dates) + "2020-01-03,1,2,1,1,1,1\n")
    ingest_csv(db_path, dates, good)
    run = last_run(db_path)
    assert run["prices"] == {"GOOD": 3, "DATES": 1}
    assert (run["read"], run["loaded"], run["rejected"]) == (9, 4, 5)
    rules = {line: rule for f, line, rule, _, _ in run["rejects"]}
    assert rules == {
        2: "unparseable_date",
        3: "unparseable_date",
        4: "unparseable_date",
        5: "implausible_value",
        6: "unparseable_date",
    }


def test_non_finite_and_absurd_values_in_a_file_are_quarantined(db_path, good):
    bad = good.parent / "BAD.csv"
    bad.write_text(
        HEADER
        + "2020-01-02,10,11,9,inf,10.4,100\n"
        + "2020-01-03,10,11,9,10.5,NaN,100\n"
        + "2020-01-06,10,11,9,10.5,10.4,-Infinity\n"
        + "2020-01-07,1e308,1e308,9,1e308,10.4,100\n"
        + "2020-01-08,10,11,9,10.5,10.4,1e308\n"
        + "2020-01-09,10,11,9,10.5,10.4,100\n"
    )
    result = ingest_csv(db_path, bad, good)
    run = last_run(db_path)
    assert run["prices"] == {"GOOD": 3, "BAD": 1}
    rules = {line: rule for f, line, rule, _, _ in run["rejects"]}
    assert rules == {
        2: "non_finite_value",
        3: "non_finite_value",
        4: "non_finite_value",
        5: "implausible_value",
        6: "implausible_value",
    }
    details = {line: detail for f, line, _, detail, _ in run["rejects"]}
    assert "exceeds 1e+09" in details[5] and "exceeds 1e+13" in details[6]
    assert "non_finite_value 3" in result.stdout and "implausible_value 2" in result.stdout


def test_a_file_named_twice_is_read_once(db_path, good):
    result = ingest_csv(db_path, good, good)
    run = last_run(db_path)
    assert run["prices"] == {"GOOD": 3}
    assert (run["read"], run["loaded"], run["rejected"]) == (3, 3, 0)
    assert "skipped" in result.stdout and "named more than once" in result.stdout


def test_a_file_reached_through_its_folder_and_its_path_is_read_once(db_path, good):
    (good.parent / "OTHER.csv").write_text(HEADER + GOOD_ROWS)
    ingest_csv(db_path, good.parent, good)
    run = last_run(db_path)
    assert run["prices"] == {"GOOD": 3, "OTHER": 3}
    assert (run["read"], run["loaded"], run["rejected"]) == (6, 6, 0)


def test_a_link_inside_the_folder_to_a_file_in_it_is_read_once(db_path, good):
    os.symlink(good, good.parent / "ALIAS.csv")
    (good.parent / "other").mkdir()
    detour = good.parent / "other" / ".." / "GOOD.csv"
    result = ingest_csv(db_path, good.parent, detour)
    run = last_run(db_path)
    assert run["prices"] == {"GOOD": 3}  # ALIAS.csv is GOOD.csv: read once, under the real file's name
    assert (run["read"], run["loaded"], run["rejected"]) == (3, 3, 0)
    statuses = {f: s for f, (s, _, _) in run["files"].items()}
    assert statuses == {good: "loaded", good.parent / "ALIAS.csv": "skipped", detour: "skipped"}
    assert f"{good.parent / 'ALIAS.csv'} is the same file as {good}" in result.stdout


def test_a_link_out_of_the_input_folder_is_not_followed(db_path, good, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("password\nhunter2\n")
    os.symlink(secret, good.parent / "LEAK.csv")
    os.symlink(tmp_path / "nowhere.csv", good.parent / "BROKEN.csv")
    result = ingest_csv(db_path, good.parent)
    run = last_run(db_path)
    assert run["prices"] == {"GOOD": 3}
    assert (run["read"], run["loaded"], run["rejected"]) == (3, 3, 0)
    assert all("hunter2" not in (record or "") for *_, record in run["rejects"])
    status, rows, message = run["files"][good.parent / "LEAK.csv"]
    assert (status, rows) == ("skipped", 0)
    assert "points outside" in message and "not followed" in message
    assert run["files"][good.parent / "BROKEN.csv"][0] == "skipped"
    assert "LEAK.csv" in result.stdout and "points outside" in result.stdout


def test_a_link_named_on_the_command_line_is_the_users_choice(db_path, good, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    link = elsewhere / "LINKED.csv"
    os.symlink(good, link)
    ingest_csv(db_path, link)
    run = last_run(db_path)
    assert run["prices"] == {"LINKED": 3}
    assert run["files"][link][0] == "loaded"

"""The command-line convention: exit statuses 0 / 1 / 2 / 130, one-line errors, literal output."""

from __future__ import annotations

import argparse
import errno
import os

import pytest

from cli import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, Terminal, UsageError, run_command
from cli.arguments import fraction, iso_date, non_negative_int, positive_float, positive_int, seed, ticker_list
from cli.console import styled
from store import DatabaseMissingError


class AppError(Exception):
    """A package's typed error."""


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m demo")
    parser.add_argument("--count", type=positive_int, default=1)
    return parser


def run(handler, argv=()):
    return run_command(parser(), handler, list(argv), user_errors=(AppError,), interrupted="nothing changed.")


def test_success_is_0_and_the_handler_sees_the_arguments():
    seen = []
    assert run(lambda args, terminal: seen.append(args.count), ["--count", "3"]) == EXIT_OK
    assert seen == [3]


def test_a_typed_error_is_one_line_and_status_1(capsys):
    def fail(args, terminal):
        raise AppError("The thing is missing: make it first.")

    assert run(fail) == EXIT_FAILED
    assert capsys.readouterr().err == "error: The thing is missing: make it first.\n"


def test_store_errors_are_always_user_errors(capsys, tmp_path):
    def fail(args, terminal):
        raise DatabaseMissingError(tmp_path / "x.duckdb")

    assert run(fail) == EXIT_FAILED
    err = capsys.readouterr().err
    assert err.startswith("error: The database") and err.count("\n") == 1


def test_bad_arguments_are_usage_errors_with_status_2(capsys):
    assert run(lambda args, terminal: None, ["--count", "-5"]) == EXIT_USAGE
    assert "argument --count: must be 1 or more, got -5" in capsys.readouterr().err
    assert run(lambda args, terminal: None, ["--nonsense"]) == EXIT_USAGE

    def misuse(args, terminal):
        raise UsageError("--a and --b cannot be given together")

    assert run(misuse) == EXIT_USAGE
    assert capsys.readouterr().err.strip().endswith("--a and --b cannot be given together (see python -m demo --help)")


def test_help_is_success(capsys):
    assert run(lambda args, terminal: None, ["--help"]) == EXIT_OK
    assert "usage: python -m demo" in capsys.readouterr().out


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt(), RuntimeError("Query interrupted")])
def test_ctrl_c_is_130_with_one_line(capsys, interrupt):
    def stop(args, terminal):
        raise interrupt

    assert run(stop) == EXIT_INTERRUPTED
    assert capsys.readouterr().err == "interrupted: nothing changed.\n"


def test_a_bug_keeps_its_traceback():
    def bug(args, terminal):
        raise ZeroDivisionError("a bug")

    with pytest.raises(ZeroDivisionError):
        run(bug)


def test_a_full_disk_outside_a_transaction_is_one_line(capsys):
    def write_report(args, terminal):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "report.html")

    assert run(write_report) == EXIT_FAILED
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: the disk filled up") and "No space left" in lines[0]


def test_text_from_data_is_printed_literally(capsys):
    terminal = Terminal()
    name = "prices[/]2020.csv [bold]x[/bold] :smile:"
    terminal.say(f"reading {name}")
    terminal.line(f"file {name}")
    terminal.error(f"error: {name}")
    terminal.table(f"title {name}", ("ticker", "[red]"), [(name, styled("[/]", "green"))], left=("ticker",))
    captured = capsys.readouterr()
    assert f"• reading {name}" in captured.err and f"error: {name}" in captured.err
    assert f"file {name}" in captured.out
    assert captured.out.count("prices[/]2020.csv") == 3  # line, title and cell
    assert "[red]" in captured.out and "[/]" in captured.out and ":smile:" in captured.out


def test_progress_on_a_pipe_says_every_tenth(capsys):
    terminal = Terminal()
    with terminal.progress("reading [x]") as update:
        for done in range(0, 101):
            update(done, 100)
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[0] == "• reading [x]: 0/100" and lines[-1] == "• reading [x]: 100/100"
    assert len(lines) == 11


def test_argument_types_refuse_what_they_should():
    assert positive_int("3") == 3 and non_negative_int("0") == 0 and seed("0") == 0
    assert positive_float("0.5") == 0.5 and fraction("1") == 1.0
    assert ticker_list(" aapl, msft ,") == ["AAPL", "MSFT"]
    assert iso_date("2024-02-29").isoformat() == "2024-02-29"
    for convert, text in (
        (positive_int, "0"),
        (positive_int, "1.5"),
        (non_negative_int, "-1"),
        (seed, "-1"),
        (seed, str(2**32)),
        (positive_float, "0"),
        (positive_float, "nan"),
        (positive_float, "inf"),
        (fraction, "0"),
        (fraction, "1.5"),
        (ticker_list, " , "),
        (iso_date, "2024-02-30"),
    ):
        with pytest.raises(argparse.ArgumentTypeError):
            convert(text)


def test_any_error_after_a_ctrl_c_is_the_interrupt(capsys):
    """DuckDB can wrap the KeyboardInterrupt of a SIGINT in its own error (e.g. while it reads a frame)."""
    import os
    import signal

    def interrupted_inside_a_library(args, terminal):
        try:
            os.kill(os.getpid(), signal.SIGINT)
        except KeyboardInterrupt:
            raise ValueError("reading the object as Arrow data failed: something") from None

    assert run(interrupted_inside_a_library) == EXIT_INTERRUPTED
    assert capsys.readouterr().err == "interrupted: nothing changed.\n"


def test_ctrl_c_wrapped_by_duckdb_is_recognised():
    import duckdb

    from store import is_interrupt

    assert is_interrupt(duckdb.InvalidInputException("reading 'x' as Arrow data failed: KeyboardInterrupt: "))
    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as inner:
            raise OSError("cleanup failed") from inner
    except OSError as outer:
        assert is_interrupt(outer)
    assert not is_interrupt(duckdb.InvalidInputException("reading 'x' as Arrow data failed: ValueError"))

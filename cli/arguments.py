"""Argument types and flags shared by every command, so the same flag means the same thing everywhere.

A bad value is a usage error (argparse prints it with the usage line and exits with status 2).
"""

from __future__ import annotations

import argparse
import datetime as dt
import math

from store import DB_ENV_VAR, DEFAULT_DB

#: The largest seed LightGBM and numpy accept.
MAX_SEED = 2**32 - 1


def _number(text: str, kind: type) -> int | float:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {'a whole number' if kind is int else 'a number'}") from None
    if kind is float and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def _within(text: str, kind: type, low: float, high: float = math.inf, *, low_open: bool = False) -> int | float:
    """`text` as `kind`, refused unless low <= value <= high (low < value with `low_open`)."""
    value = _number(text, kind)
    if value < low or value > high or (low_open and value == low):
        bound = f"above {_show(low)}" if low_open else f"{_show(low)} or more"
        if high != math.inf:
            bound = f"{bound} and at most {_show(high)}"
        raise argparse.ArgumentTypeError(f"must be {bound}, got {text}")
    return value


def _show(bound: float) -> str:
    return str(int(bound)) if float(bound).is_integer() else f"{bound:g}"


def positive_int(text: str) -> int:
    """A whole number of at least 1 (a count)."""
    return int(_within(text, int, 1))


def non_negative_int(text: str) -> int:
    """A whole number of at least 0."""
    return int(_within(text, int, 0))


def seed(text: str) -> int:
    """A random seed: a whole number from 0 to 2**32 - 1."""
    return int(_within(text, int, 0, MAX_SEED))


def finite_float(text: str) -> float:
    """Any finite number."""
    return float(_number(text, float))


def positive_float(text: str) -> float:
    """A finite number above 0."""
    return float(_within(text, float, 0, low_open=True))


def non_negative_float(text: str) -> float:
    """A finite number of at least 0."""
    return float(_within(text, float, 0))


def fraction(text: str) -> float:
    """A share: a number above 0 and at most 1."""
    return float(_within(text, float, 0, 1, low_open=True))


def iso_date(text: str) -> dt.date:
    """A date written YYYY-MM-DD."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: use YYYY-MM-DD") from None


def ticker_list(text: str) -> list[str]:
    """Comma-separated tickers, upper-cased; at least one."""
    tickers = [ticker.strip().upper() for ticker in text.split(",") if ticker.strip()]
    if not tickers:
        raise argparse.ArgumentTypeError("give at least one ticker, e.g. AAPL,MSFT")
    return tickers


def add_database_argument(parser: argparse.ArgumentParser, *, subcommand: bool = False) -> None:
    """`--db PATH`: the DuckDB file (default: $FEATURE_STORE_DB, else warehouse/feature_store.duckdb).

    `subcommand`: the flag of a subcommand's parser, which has no default of its own, so that
    `python -m ingest --db X synthetic` keeps X (argparse lets a subparser's default overwrite the value
    given before the subcommand).
    """
    parser.add_argument(
        "--db",
        default=argparse.SUPPRESS if subcommand else None,
        metavar="PATH",
        help=f"DuckDB file (default: ${DB_ENV_VAR} or {DEFAULT_DB})",
    )

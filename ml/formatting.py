"""Numbers as people read them, shared by the command-line summaries, the verdicts and the HTML report."""

from __future__ import annotations

import pandas as pd


def percent(value: float | None, digits: int = 2, *, signed: bool = True, missing: str = "n/a") -> str:
    """A fraction as a percentage (+1.23%), `missing` for None/NaN; never "-0.00%"."""
    if value is None or pd.isna(value):
        return missing
    rounded = round(value * 100, digits) + 0.0  # + 0.0 turns -0.0 into 0.0
    return f"{rounded:{'+' if signed else ''}.{digits}f}%"


def number(value: float | None, digits: int = 2, *, missing: str = "n/a") -> str:
    """A number with `digits` decimals (a whole number with thousands separators for 0), `missing` for None/NaN."""
    if value is None or pd.isna(value):
        return missing
    return f"{int(value):,}" if digits == 0 else f"{value:.{digits}f}"

"""The shapes every source hands to the loader.

A source (synthetic, files, yfinance, sentiment) returns pandas DataFrames (or Arrow tables) with exactly these columns,
one row per input record, before any validation. The loader (`ingest.load`) parses, validates,
quarantines and writes them; sources never write to the database themselves.

Every frame carries `source_file` and `line_number` so that a rejected row can be traced back to where
it came from (for generated or API data: a descriptive name such as ``synthetic:seed=42`` or
``yfinance:download`` and the row's position in that batch, counted from 1).

Values may arrive as strings (files) or typed (synthetic, APIs): the loader casts them and rejects what
does not parse, so sources should not drop or repair bad values themselves.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

#: Daily OHLCV. `adj_close` may be missing (NaN): the adjustment factor is then 1.
PRICE_COLUMNS = (
    "ticker",
    "trade_date",
    "open",
    "high",
    "low",
    "close",
    "adj_close",
    "volume",
    "source_file",
    "line_number",
)

#: Daily news sentiment per ticker. `sentiment_score` in [-1, 1]; `article_count` >= 0.
SENTIMENT_COLUMNS = (
    "ticker",
    "trade_date",
    "sentiment_score",
    "article_count",
    "source_file",
    "line_number",
)

#: Earnings announcements. `announce_date` is the day the numbers became public;
#: `announce_timing` is 'bmo' (before market open), 'amc' (after market close) or 'unknown'.
#: `surprise_pct` is (actual - estimate) / abs(estimate) * 100.
EARNINGS_COLUMNS = (
    "ticker",
    "announce_date",
    "announce_timing",
    "eps_estimate",
    "eps_actual",
    "surprise_pct",
    "source_file",
    "line_number",
)

#: Analyst rating changes. `action` is one of 'upgrade', 'downgrade', 'init', 'maintain', 'reiterate'.
ANALYST_COLUMNS = (
    "ticker",
    "action_date",
    "firm",
    "action",
    "from_grade",
    "to_grade",
    "source_file",
    "line_number",
)

#: Insider transactions. `transaction` is 'buy', 'sell' or 'other'; `value` in dollars (>= 0);
#: `announce_date` is when the filing became public (transaction_date + 2 business days when the
#: source only gives the transaction date: the SEC Form 4 deadline).
INSIDER_COLUMNS = (
    "ticker",
    "transaction_date",
    "announce_date",
    "insider",
    "position",
    "transaction",
    "shares",
    "value",
    "source_file",
    "line_number",
)

FRAME_COLUMNS = {
    "prices": PRICE_COLUMNS,
    "sentiment": SENTIMENT_COLUMNS,
    "earnings": EARNINGS_COLUMNS,
    "analyst_actions": ANALYST_COLUMNS,
    "insider_trades": INSIDER_COLUMNS,
}


def empty_frame(kind: str) -> pd.DataFrame:
    """An empty frame of one kind ('prices', 'sentiment', ...), with its columns."""
    return pd.DataFrame({column: pd.Series(dtype="object") for column in FRAME_COLUMNS[kind]})


def check_frame(kind: str, frame: pd.DataFrame | pa.Table) -> pd.DataFrame | pa.Table:
    """Return `frame` (a DataFrame or an Arrow table) with the columns of `kind` in order.

    Raises ValueError naming any missing column. Used by the loader on what a source returns, so a
    source bug fails loudly instead of loading a misaligned table.
    """
    expected = FRAME_COLUMNS[kind]
    names = frame.column_names if isinstance(frame, pa.Table) else list(frame.columns)
    missing = [column for column in expected if column not in names]
    if missing:
        raise ValueError(f"{kind} frame is missing column(s): {', '.join(missing)}")
    if isinstance(frame, pa.Table):
        return frame.select(list(expected))
    return frame.loc[:, list(expected)]

"""Time-ordered splits with purging and an embargo, and walk-forward folds.

The unique trade dates are cut, in order, into train / validation / calibration / test blocks holding
about 60 / 15 / 10 / 15 % of the rows. Two rules keep later blocks out of earlier ones:

- **Purging:** a row is kept in its block only if its label was known (`label_known_date`) before the
  next block starts. Its 5-day label window then never overlaps a later block.
- **Embargo:** each block after the first starts `embargo_days` trading dates after the previous one
  ends (at least the label horizon, which the caller reads from the store: `ml.train.data.label_horizon`), so
  the first rows of a block are not the direct continuation of the last rows of the one before.

Every fitted step (feature selection, models, calibration, drift baselines) is fitted on the block the
training pipeline says, never on a later one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml.errors import MLError

SPLIT_NAMES = ("train", "validation", "calibration", "test")


@dataclass(frozen=True)
class Split:
    """Row positions of one block and the dates it spans."""

    name: str
    rows: np.ndarray
    first_date: pd.Timestamp
    last_date: pd.Timestamp

    def __len__(self) -> int:
        return len(self.rows)


def _blocks(
    dates: np.ndarray, rows_per_date: np.ndarray, fractions: tuple[float, ...], embargo_days: int
) -> list[np.ndarray]:
    """Cut sorted unique dates into consecutive blocks holding `fractions` of the ROWS (not of the dates: a
    panel that grows over time would otherwise train on a few early tickers), dropping `embargo_days`
    dates before each later block."""
    share = np.cumsum(rows_per_date) / rows_per_date.sum()
    targets = np.cumsum(fractions)[:-1] / sum(fractions)
    edges = np.concatenate(([0], np.searchsorted(share, targets, side="right"), [len(dates)]))
    blocks = []
    for index in range(len(fractions)):
        start = edges[index] + (embargo_days if index > 0 else 0)
        blocks.append(dates[start : edges[index + 1]])
    return blocks


def purged_splits(
    trade_dates: pd.Series,
    label_known_dates: pd.Series,
    *,
    horizon: int,
    fractions: tuple[float, float, float, float] = (0.6, 0.15, 0.1, 0.15),
    embargo_days: int | None = None,
) -> dict[str, Split]:
    """Train / validation / calibration / test splits by date (see the module docstring).

    Parameters
    ----------
    trade_dates, label_known_dates
        per row, in any order.
    horizon
        the label's horizon in trading days.
    fractions
        shares of the rows in the four blocks.
    embargo_days
        trading dates dropped before each later block (default and minimum: `horizon`).
    """
    embargo_days = horizon if embargo_days is None else embargo_days
    if embargo_days < horizon:
        raise MLError(f"embargo_days must be at least the {horizon}-day label horizon, got {embargo_days}")
    trade = pd.to_datetime(trade_dates).to_numpy()
    dates, rows_per_date = np.unique(trade, return_counts=True)
    if len(dates) < 50 + 3 * embargo_days:
        raise MLError(f"only {len(dates)} trading dates with known labels: too few to split in time; ingest more.")
    blocks = _blocks(dates, rows_per_date, fractions, embargo_days)
    known = pd.to_datetime(label_known_dates).to_numpy()
    splits: dict[str, Split] = {}
    for index, (name, block) in enumerate(zip(SPLIT_NAMES, blocks, strict=True)):
        if len(block) == 0:
            raise MLError(f"the {name} split is empty: use more history or other fractions")
        in_block = (trade >= block[0]) & (trade <= block[-1])
        if index + 1 < len(blocks):
            next_start = blocks[index + 1][0]
            in_block &= known < next_start  # purge: the label must be known before the next block starts
        rows = np.flatnonzero(in_block)
        splits[name] = Split(name, rows, pd.Timestamp(block[0]), pd.Timestamp(block[-1]))
    return splits


def walk_forward_folds(
    trade_dates: pd.Series,
    label_known_dates: pd.Series,
    *,
    embargo_days: int,
    n_folds: int = 3,
    min_train_fraction: float = 0.4,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Expanding-window folds over the given rows: train on everything up to a date (purged), validate on
    the next block after an embargo of `embargo_days` trading dates (at least the label horizon). Returns
    (train_rows, validation_rows) position arrays."""
    dates = np.sort(pd.to_datetime(trade_dates).unique())
    trade = pd.to_datetime(trade_dates).to_numpy()
    known = pd.to_datetime(label_known_dates).to_numpy()
    first_validation = int(len(dates) * min_train_fraction)
    step = (len(dates) - first_validation) // n_folds
    if step <= embargo_days:
        raise MLError(f"too few dates ({len(dates)}) for {n_folds} walk-forward folds")
    folds = []
    for fold in range(n_folds):
        start = first_validation + fold * step
        validation_dates = dates[start + embargo_days : start + step]
        train_rows = np.flatnonzero((trade < dates[start]) & (known < validation_dates[0]))
        validation_rows = np.flatnonzero((trade >= validation_dates[0]) & (trade <= validation_dates[-1]))
        folds.append((train_rows, validation_rows))
    return folds

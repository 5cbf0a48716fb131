"""Time splits: ordered, purged (no label window reaches a later split), embargoed, and walk-forward."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.errors import MLError
from ml.train.splits import purged_splits, walk_forward_folds


def panel(days: int = 400, tickers: int = 3, gap_ticker: bool = True) -> pd.DataFrame:
    dates = pd.bdate_range("2020-01-01", periods=days)
    rows = []
    for ticker in range(tickers):
        own = dates if not (gap_ticker and ticker == 0) else dates[::2]  # a ticker trading every other day
        known = list(own[5:]) + [pd.NaT] * 5
        rows += [{"ticker": ticker, "trade_date": d, "label_known_date": k} for d, k in zip(own, known, strict=True)]
    frame = pd.DataFrame(rows).dropna().sort_values(["trade_date", "ticker"], ignore_index=True)
    return frame


def test_splits_are_in_time_order_with_an_embargo_and_purged_labels():
    frame = panel()
    splits = purged_splits(frame["trade_date"], frame["label_known_date"], horizon=5, embargo_days=5)
    names = ["train", "validation", "calibration", "test"]
    assert list(splits) == names
    dates = np.sort(frame["trade_date"].unique())
    for earlier, later in zip(names, names[1:], strict=False):
        first, second = splits[earlier], splits[later]
        assert first.last_date < second.first_date
        gap = np.searchsorted(dates, second.first_date) - np.searchsorted(dates, first.last_date)
        assert gap == 6  # five embargoed dates between the blocks
        # Purging: every label of the earlier block is known before the later block starts.
        assert (frame["label_known_date"].iloc[first.rows] < second.first_date).all()


def test_rows_of_the_gappy_ticker_near_the_boundary_are_purged():
    frame = panel()
    splits = purged_splits(frame["trade_date"], frame["label_known_date"], horizon=5, embargo_days=5)
    block_end = splits["train"].last_date
    in_block = frame[(frame["trade_date"] <= block_end) & (frame["trade_date"] >= splits["train"].first_date)]
    purged = set(in_block.index) - set(splits["train"].rows)
    assert purged, "rows whose label is known only after the next block starts must be purged"
    assert (frame.loc[list(purged), "label_known_date"] >= splits["validation"].first_date).all()


def test_embargo_shorter_than_the_label_horizon_is_refused():
    frame = panel()
    with pytest.raises(MLError, match="at least the 5-day label horizon"):
        purged_splits(frame["trade_date"], frame["label_known_date"], horizon=5, embargo_days=2)


def test_walk_forward_folds_train_only_on_the_past():
    frame = panel(days=500, gap_ticker=False)
    folds = walk_forward_folds(frame["trade_date"], frame["label_known_date"], embargo_days=5, n_folds=3)
    assert len(folds) == 3
    previous_end = None
    for train_rows, validation_rows in folds:
        train, validation = frame.iloc[train_rows], frame.iloc[validation_rows]
        assert train["label_known_date"].max() < validation["trade_date"].min()
        assert train["trade_date"].max() < validation["trade_date"].min()
        if previous_end is not None:
            assert validation["trade_date"].min() > previous_end
        previous_end = validation["trade_date"].max()

"""The gap rule: a label whose window (trade_date to the date h rows ahead) spans more than var
label_max_calendar_days calendar days is NULL, because the ticker's prices have a gap there. The signal
edge's forward returns follow the same rule; every other label stays as it was."""

from __future__ import annotations

import datetime as dt
import shutil

import duckdb
import numpy as np
import pandas as pd
import pytest
from helpers import compiled_sql, dbt_build, read, run_dbt, run_job

from ingest import jobs

pytestmark = pytest.mark.slow

HORIZON = 5
MAX_CALENDAR_DAYS = 14
GAP_START = dt.date(2024, 2, 1)
GAP_DAYS = 60


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    """`clean`: a synthetic store. `gapped`: the same with 60 calendar days of one equity's prices deleted."""
    folder = tmp_path_factory.mktemp("label_gaps")
    clean = folder / "clean.duckdb"
    run_job(jobs.ingest_synthetic, clean, seed=3, years=1.5, n_tickers=3, end=dt.date(2024, 6, 28))
    built = dbt_build(clean, folder / "clean")
    assert built.returncode == 0, built.stdout[-3000:]
    equities = "select min(ticker) as t from marts.dim_tickers where asset_class = 'equity' and trading_days > 0"
    ticker = read(clean, equities)["t"].item()
    gapped = folder / "gapped.duckdb"
    shutil.copy(clean, gapped)
    with duckdb.connect(str(gapped)) as connection:
        connection.execute(
            "delete from raw.prices where ticker = ? and trade_date >= ? and trade_date < ?",
            [ticker, GAP_START, GAP_START + dt.timedelta(days=GAP_DAYS)],
        )
    # --full-refresh: the copy holds built marts, and a daily build keeps rows it already has.
    rebuilt = dbt_build(gapped, folder / "gapped", "--full-refresh")
    assert rebuilt.returncode == 0, rebuilt.stdout[-3000:]  # the coverage data tests pass too
    return clean, gapped, ticker


def spanning_the_gap(db_path, ticker) -> set[dt.date]:
    """Independently: the ticker's trade dates whose row h ahead is more than MAX_CALENDAR_DAYS later."""
    dates = read(db_path, "select trade_date from raw.prices where ticker = ? order by trade_date", ticker)
    dates = pd.to_datetime(dates["trade_date"]).dt.date.tolist()
    return {day for day, ahead in zip(dates, dates[HORIZON:], strict=False) if (ahead - day).days > MAX_CALENDAR_DAYS}


def test_labels_across_the_gap_are_null_and_the_others_unchanged(stores):
    clean, gapped, ticker = stores
    void = spanning_the_gap(gapped, ticker)
    assert len(void) == HORIZON  # the last h rows before the gap look across it
    assert not spanning_the_gap(clean, ticker)
    labels = read(gapped, "select * from marts.fct_labels order by ticker, trade_date")
    labels["trade_date"] = pd.to_datetime(labels["trade_date"]).dt.date
    across = labels[(labels["ticker"] == ticker) & labels["trade_date"].isin(void)]
    assert len(across) == HORIZON
    assert across["fwd_ret_5d"].isna().all() and across["label_up_5d"].isna().all()
    # Known to have no label: label_known_date is the date of row t+h, after the gap.
    assert (pd.to_datetime(across["label_known_date"]).dt.date >= GAP_START + dt.timedelta(days=GAP_DAYS)).all()
    # Every other label equals the clean store's wherever its window is the same rows.
    reference = read(clean, "select * from marts.fct_labels")
    reference["trade_date"] = pd.to_datetime(reference["trade_date"]).dt.date
    kept = labels[~labels["trade_date"].isin(void) | (labels["ticker"] != ticker)]
    same = kept.merge(reference, on=["ticker", "trade_date", "label_known_date"], suffixes=("", "_clean"))
    assert len(same) == len(kept)  # no other window changed (the last h rows match on a NULL label_known_date)
    np.testing.assert_allclose(same["fwd_ret_5d"].to_numpy(float), same["fwd_ret_5d_clean"].to_numpy(float))
    assert (same["label_up_5d"].fillna(-1) == same["label_up_5d_clean"].fillna(-1)).all()


def test_the_signal_edge_skips_windows_across_the_gap(stores):
    _, gapped, ticker = stores
    void = spanning_the_gap(gapped, ticker)
    observed = read(
        gapped, "select distinct trade_date from marts.fct_signal_edge_observations where ticker = ?", ticker
    )
    observed = set(pd.to_datetime(observed["trade_date"]).dt.date)
    assert observed and not observed & void
    mismatch = read(
        gapped,
        """
        select count(*) as n, count(labels.fwd_ret_5d) as labelled,
            max(abs(observations.fwd_ret - labels.fwd_ret_5d)) as worst
        from marts.fct_signal_edge_observations as observations
        inner join marts.fct_labels as labels using (ticker, trade_date)
        """,
    )
    assert mismatch["n"].item() == mismatch["labelled"].item() > 1000
    assert mismatch["worst"].item() < 1e-12


def test_dim_labels_publishes_the_longest_label_window(stores):
    _, gapped, _ = stores
    spans = read(gapped, "select distinct max_calendar_days from marts.dim_labels")
    assert spans["max_calendar_days"].tolist() == [MAX_CALENDAR_DAYS]


def test_the_limit_follows_the_horizon_and_a_bad_value_is_one_clear_error(tmp_path):
    # 14 at the label horizon of 5; 7 calendar days more per 5 extra rows (rounded up), fewer for fewer rows.
    limits = compiled_sql(
        "{{ label_max_calendar_days() }} {{ label_max_calendar_days(10) }} {{ label_max_calendar_days(1) }}", tmp_path
    )
    assert limits.split() == ["14", "21", "9"]
    result = run_dbt(
        tmp_path / "scratch.duckdb", tmp_path, "compile", "-s", "dim_labels", "--vars", "{label_max_calendar_days: 3}"
    )
    assert result.returncode != 0
    assert "var label_max_calendar_days must be a whole number of calendar days >= label_horizon_days" in result.stdout

"""Research-event features (`intermediate.int_features__events`) against an independent pandas computation.

Events count from the first date whose close may know them: earnings from `available_date` (the
announcement day for 'bmo', the next day for 'amc'), analyst actions and insider filings from the day
after their date. Analyst and insider values are NULL while their source has no event available yet and
0 for a ticker without events in the window once it has. A store without sentiment and event sources
builds, and those families are NULL.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd
import pytest
from helpers import assert_features_close, dbt_build, non_null_counts, read, run_job

from ingest import jobs

pytestmark = pytest.mark.slow

FEATURES = ["earnings_surprise_pct", "analyst_net_upgrades_30d", "insider_net_buy_90d"]
ONE_DAY = pd.Timedelta(days=1)


def window_sums(rows: pd.DataFrame, events: pd.DataFrame, value: str, days: int) -> pd.Series:
    """Per row, the sum of `value` over the ticker's events available in (t - days, t]; 0 when none."""
    totals = pd.Series(0.0, index=rows.index)
    for ticker, group in rows.groupby("ticker"):
        mine = events[events["ticker"] == ticker].sort_values("available_date")
        if mine.empty:
            continue
        cumulative = np.concatenate([[0.0], mine[value].cumsum().to_numpy(float)])
        available = mine["available_date"].to_numpy()
        upto_today = np.searchsorted(available, group["trade_date"].to_numpy(), side="right")
        upto_window_start = np.searchsorted(
            available, (group["trade_date"] - pd.Timedelta(days=days)).to_numpy(), side="right"
        )
        totals.loc[group.index] = cumulative[upto_today] - cumulative[upto_window_start]
    return totals


def expected_events(store) -> pd.DataFrame:
    rows = read(store, "select ticker, trade_date, dollar_volume from intermediate.int_prices__sequenced")
    rows = rows.sort_values(["ticker", "trade_date"], ignore_index=True)
    earnings = read(store, "select ticker, announce_date, announce_timing, surprise_pct from raw.earnings")
    analyst = read(store, "select ticker, action_date, action from raw.analyst_actions")
    insider = read(
        store,
        "select ticker, announce_date, transaction, value from raw.insider_trades where announce_date is not null",
    )

    earnings["available_date"] = (
        earnings["announce_date"] + np.where(earnings["announce_timing"] == "bmo", 0, 1) * ONE_DAY
    )
    latest = earnings.sort_values(["available_date", "announce_date"]).drop_duplicates(
        ["ticker", "available_date"], keep="last"
    )
    surprise = pd.merge_asof(
        rows[["ticker", "trade_date"]].reset_index().sort_values("trade_date"),
        latest[["ticker", "available_date", "surprise_pct"]].sort_values("available_date"),
        left_on="trade_date",
        right_on="available_date",
        by="ticker",
    ).set_index("index")["surprise_pct"]

    analyst["available_date"] = analyst["action_date"] + ONE_DAY
    analyst["direction"] = analyst["action"].map({"upgrade": 1, "downgrade": -1}).fillna(0)
    insider["available_date"] = insider["announce_date"] + ONE_DAY
    insider["net_value"] = np.select(
        [insider["transaction"] == "buy", insider["transaction"] == "sell"], [insider["value"], -insider["value"]], 0.0
    )
    analyst_start = analyst["available_date"].min() if len(analyst) else pd.Timestamp.max
    insider_start = insider["available_date"].min() if len(insider) else pd.Timestamp.max
    mean_dollar_volume = rows.groupby("ticker")["dollar_volume"].transform(
        lambda volume: volume.rolling(60, min_periods=60).mean()
    )
    upgrades = window_sums(rows, analyst, "direction", 30).where(rows["trade_date"] >= analyst_start)
    insider_sum = window_sums(rows, insider, "net_value", 90).where(rows["trade_date"] >= insider_start)
    return rows[["ticker", "trade_date"]].assign(
        earnings_surprise_pct=surprise.sort_index(),
        analyst_net_upgrades_30d=upgrades,
        insider_net_buy_90d=insider_sum / mean_dollar_volume.replace(0, np.nan),
    )


def actual_events(store) -> pd.DataFrame:
    return read(store, f"select ticker, trade_date, {', '.join(FEATURES)} from intermediate.int_features__events")


def test_event_features_match_pandas_on_the_synthetic_market(synthetic_store):
    actual = actual_events(synthetic_store)
    assert_features_close(actual, expected_events(synthetic_store), FEATURES)
    assert (actual["analyst_net_upgrades_30d"] != 0).sum() > 1000
    assert (actual["insider_net_buy_90d"].fillna(0) != 0).sum() > 1000
    assert actual["earnings_surprise_pct"].notna().sum() > 10_000


def test_an_after_close_report_counts_from_the_next_day_a_before_open_one_the_same_day(synthetic_store):
    features = read(
        synthetic_store,
        """
        with reports as (
            select
                *,
                lag(surprise_pct) over (partition by ticker order by announce_date) as previous_surprise_pct
            from raw.earnings
        )
        select
            reports.announce_timing,
            reports.surprise_pct,
            reports.previous_surprise_pct,
            features.earnings_surprise_pct,
            features.trade_date = reports.announce_date as on_announce_day
        from reports
        inner join intermediate.int_features__events as features
            on features.ticker = reports.ticker
            and features.trade_date in (
                reports.announce_date,
                (select min(later.trade_date) from intermediate.int_prices__sequenced as later
                 where later.ticker = reports.ticker and later.trade_date > reports.announce_date)
            )
        """,
    )
    on_day = features[features["on_announce_day"]]
    next_day = features[~features["on_announce_day"]]
    amc_on_day = on_day[on_day["announce_timing"] == "amc"]
    bmo_on_day = on_day[on_day["announce_timing"] == "bmo"]
    assert len(amc_on_day) > 50 and len(bmo_on_day) > 50 and len(next_day) > 100
    # 'amc': the close of the announcement day cannot know the numbers (the stock moves the next session),
    # so it still shows the previous report's surprise.
    assert (amc_on_day["surprise_pct"] != amc_on_day["previous_surprise_pct"]).sum() > 50
    np.testing.assert_allclose(amc_on_day["earnings_surprise_pct"], amc_on_day["previous_surprise_pct"], rtol=1e-12)
    np.testing.assert_allclose(next_day["earnings_surprise_pct"], next_day["surprise_pct"], rtol=1e-12)
    np.testing.assert_allclose(bmo_on_day["earnings_surprise_pct"], bmo_on_day["surprise_pct"], rtol=1e-12)


def test_real_data_has_no_event_sources_so_every_feature_is_null(real_store):
    counts = non_null_counts(real_store, "intermediate.int_features__events", FEATURES)
    assert counts["row_count"] > 400_000
    assert (counts[FEATURES] == 0).all()


@pytest.fixture(scope="module")
def prices_only_store(tmp_path_factory):
    """A small synthetic market with prices only: no sentiment, no events, no ^VIX and no BTC-USD."""
    folder = tmp_path_factory.mktemp("prices_only")
    db_path = folder / "store.duckdb"
    run_job(jobs.ingest_synthetic, db_path, seed=5, years=1, n_tickers=4, end=dt.date(2024, 6, 28))
    with duckdb.connect(str(db_path)) as connection:
        for table in ("sentiment", "earnings", "analyst_actions", "insider_trades"):
            connection.execute(f"delete from raw.{table}")
        connection.execute("delete from raw.prices where ticker in ('^VIX', 'BTC-USD')")
    result = dbt_build(db_path, folder)
    return db_path, result


def test_a_store_without_sentiment_events_vix_or_bitcoin_builds(prices_only_store):
    _, result = prices_only_store
    assert result.returncode == 0, result.stdout[-4000:]
    assert "ERROR=0" in result.stdout


def test_families_without_a_source_are_null_and_the_others_are_not(prices_only_store):
    db_path, result = prices_only_store
    assert result.returncode == 0, result.stdout[-4000:]
    events = read(db_path, f"select {', '.join(FEATURES)} from intermediate.int_features__events")
    sentiment = read(db_path, "select * exclude (ticker, trade_date) from intermediate.int_features__sentiment")
    cross_asset = read(db_path, "select * exclude (ticker, trade_date) from intermediate.int_features__cross_asset")
    assert len(events) == len(sentiment) == len(cross_asset) > 1000
    assert events.isna().all().all()
    assert sentiment.isna().all().all()
    for column in ["vix_level", "vix_change_5d", "vix_z_60", "btc_overnight_ret", "btc_ret_5d"]:
        assert cross_asset[column].isna().all(), column
    for column in ["yield_10y_level", "spy_ret_5d", "qqq_ret_5d", "iwm_minus_spy_5d", "beta_spy_60d"]:
        assert cross_asset[column].notna().any(), column

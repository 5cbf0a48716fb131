"""Sentiment features (`intermediate.int_features__sentiment`) against an independent pandas computation.

The model's rules (see its YAML): an observation counts on the ticker's row of its date, or on the next
row when the ticker did not trade that day; windows count the ticker's price rows and average the
observations present; a window is used once the ticker has that many rows since its first observation;
the z-scores compare today with the previous 20 rows.
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

FEATURES = [
    "sentiment_raw",
    "sentiment_ma5",
    "sentiment_trend",
    "sentiment_z_20",
    "sentiment_divergence",
    "news_volume_z_20",
    "sentiment_days_since",
]


def expected_sentiment(prices: pd.DataFrame, sentiment: pd.DataFrame) -> pd.DataFrame:
    """The seven features of every price row, computed with pandas from the price rows and observations."""
    rows = prices.sort_values(["ticker", "trade_date"], ignore_index=True)
    observations = sentiment.rename(columns={"trade_date": "observed_date"}).sort_values("observed_date")
    # Each observation goes to the first row of its ticker dated on or after it.
    placed = pd.merge_asof(
        observations,
        rows[["ticker", "trade_date"]].assign(row_date=rows["trade_date"]).sort_values("trade_date"),
        left_on="observed_date",
        right_on="trade_date",
        by="ticker",
        direction="forward",
    ).dropna(subset=["row_date"])
    per_row = placed.groupby(["ticker", "row_date"], as_index=False).agg(
        sentiment_raw=("sentiment_score", "mean"), article_count=("article_count", "sum")
    )
    rows = rows.merge(per_row, left_on=["ticker", "trade_date"], right_on=["ticker", "row_date"], how="left")

    frames = []
    for _, group in rows.groupby("ticker", sort=False):
        group = group.reset_index(drop=True)
        position = pd.Series(np.arange(len(group), dtype=float))
        observed = group["sentiment_raw"].notna()
        first = position.where(observed).cummin().ffill()
        history = position - first + 1  # rows since the first observation, that one included
        raw, articles = group["sentiment_raw"], group["article_count"]
        ma5 = raw.rolling(5, min_periods=1).mean().where(history >= 5)
        ma20 = raw.rolling(20, min_periods=1).mean().where(history >= 20)
        previous = raw.shift(1).rolling(20, min_periods=2)
        z_20 = ((raw - previous.mean()) / previous.std().replace(0, np.nan)).where(history >= 21)
        previous_articles = articles.shift(1).rolling(20, min_periods=2)
        news_z = ((articles - previous_articles.mean()) / previous_articles.std().replace(0, np.nan)).where(
            history >= 21
        )
        trend = ma5 - ma20
        ret_5d = group["close"] / group["close"].shift(5) - 1
        divergence = (np.sign(trend) != np.sign(ret_5d)).astype(float).where(trend.notna() & ret_5d.notna())
        frames.append(
            pd.DataFrame(
                {
                    "ticker": group["ticker"],
                    "trade_date": group["trade_date"],
                    "sentiment_raw": raw,
                    "sentiment_ma5": ma5,
                    "sentiment_trend": trend,
                    "sentiment_z_20": z_20,
                    "sentiment_divergence": divergence,
                    "news_volume_z_20": news_z,
                    "sentiment_days_since": position - position.where(observed).ffill(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def test_sentiment_features_match_pandas_on_the_synthetic_market(synthetic_store):
    prices = read(synthetic_store, "select ticker, trade_date, close from intermediate.int_prices__sequenced")
    sentiment = read(
        synthetic_store, "select ticker, trade_date, sentiment_score, article_count from staging.stg_raw__sentiment"
    )
    actual = read(
        synthetic_store, f"select ticker, trade_date, {', '.join(FEATURES)} from intermediate.int_features__sentiment"
    )
    assert_features_close(actual, expected_sentiment(prices, sentiment), FEATURES)
    # The synthetic market has sentiment for its equities: every feature is populated somewhere.
    assert actual[FEATURES].notna().sum().min() > 1000
    assert set(actual["sentiment_divergence"].dropna().unique()) == {0, 1}


def test_real_data_has_no_sentiment_so_every_feature_is_null(real_store):
    counts = non_null_counts(real_store, "intermediate.int_features__sentiment", FEATURES)
    assert counts["row_count"] > 400_000
    assert (counts[FEATURES] == 0).all()


@pytest.fixture(scope="module")
def hand_made_store(tmp_path_factory):
    """A small synthetic market whose sentiment is replaced by a hand-made series for one ticker."""
    folder = tmp_path_factory.mktemp("sentiment_hand_made")
    db_path = folder / "store.duckdb"
    run_job(jobs.ingest_synthetic, db_path, seed=3, years=0.25, n_tickers=2, end=dt.date(2024, 6, 28))
    with duckdb.connect(str(db_path)) as connection:
        ticker, dates = connection.execute(
            "select ticker, list(trade_date order by trade_date) from raw.prices "
            "where ticker = (select min(ticker) from raw.sentiment) group by ticker"
        ).fetchone()
        connection.execute("delete from raw.sentiment")
        # Rows 3, 4 and 8 (1-based) have an observation, and so does the Saturday after row 9: it lands
        # on the ticker's next row (the Monday, unless the feed has a hole there).
        saturday = dates[8] + dt.timedelta(days=5 - dates[8].weekday())
        observed = [(dates[2], 0.5), (dates[3], -0.5), (dates[7], 0.25), (saturday, 1.0)]
        connection.executemany(
            "insert into raw.sentiment (ticker, trade_date, sentiment_score, article_count, source, run_id) "
            "values (?, ?, ?, 1, 'test', 'test')",
            [(ticker, day, score) for day, score in observed],
        )
    result = dbt_build(db_path, folder, "--select", "+int_features__sentiment")
    assert result.returncode == 0, result.stdout[-4000:]
    return db_path, ticker, dates, saturday


def test_sentiment_days_since_counts_rows_since_the_last_observation(hand_made_store):
    db_path, ticker, dates, saturday = hand_made_store
    features = read(
        db_path,
        "select trade_date, sentiment_raw, sentiment_days_since from intermediate.int_features__sentiment "
        "where ticker = ? order by trade_date",
        ticker,
    )
    monday_row = dates.index(min(day for day in dates if day > saturday))
    assert [pd.Timestamp(day) for day in dates] == list(features["trade_date"])
    expected = [None, None, 0, 0, 1, 2, 3, 0] + list(range(1, monday_row - 7)) + [0, 1]
    got = features["sentiment_days_since"].iloc[: monday_row + 2]
    assert [None if pd.isna(value) else int(value) for value in got] == expected
    # The Saturday observation counts on the next row, not before.
    assert features.loc[monday_row, "sentiment_raw"] == 1.0
    assert features["sentiment_raw"].notna().sum() == 4


def test_other_tickers_without_sentiment_are_all_null(hand_made_store):
    db_path, ticker, _, _ = hand_made_store
    others = read(
        db_path,
        f"select {', '.join(FEATURES)} from intermediate.int_features__sentiment where ticker <> ?",
        ticker,
    )
    assert len(others) > 0
    assert others.isna().all().all()

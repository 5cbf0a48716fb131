"""The store's client (`store.retrieval.FeatureStore`) on a synthetic store built by the real ingest and dbt:
point-in-time retrieval equals the marts on dates, takes the last close strictly before an intraday
timestamp, keeps every entity row; the latest features are each ticker's last row."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from store.retrieval import FeatureRequestError, FeatureStore

pytestmark = pytest.mark.slow

FEATURES = ["rsi_14", "ret_5d", "volume_z_20", "ret_5d_xs_rank", "clv_xs_rank", "regime_id", "vol_state"]


def mart_rows(db_path, where: str = "", params=()) -> pd.DataFrame:
    """The same features straight from the marts, by SQL."""
    with duckdb.connect(str(db_path), read_only=True) as connection:
        return connection.execute(
            f"""
            select features.ticker, features.trade_date, features.rsi_14, features.ret_5d, features.volume_z_20,
                ranks.ret_5d_xs_rank, ranks.clv_xs_rank, regimes.regime_id, regimes.vol_state
            from marts.fct_features as features
            left join marts.fct_feature_ranks as ranks using (ticker, trade_date)
            left join marts.fct_market_regimes as regimes using (trade_date)
            {where}
            order by features.ticker, features.trade_date
            """,
            list(params),
        ).df()


def trading_days(db_path, ticker: str) -> list[dt.date]:
    with duckdb.connect(str(db_path), read_only=True) as connection:
        rows = connection.execute(
            "select trade_date from marts.fct_features where ticker = ? order by trade_date", [ticker]
        ).fetchall()
    return [row[0] for row in rows]


def two_tickers(db_path) -> list[str]:
    """The first two tickers of the store (AAPL is among the synthetic universe's equities)."""
    with duckdb.connect(str(db_path), read_only=True) as connection:
        rows = connection.execute("select distinct ticker from marts.fct_features order by ticker limit 2").fetchall()
    return [row[0] for row in rows]


def test_dates_get_exactly_the_marts_rows_of_their_close(synthetic_store):
    expected = mart_rows(synthetic_store).sample(n=300, random_state=3).reset_index(drop=True)
    entities = pl.DataFrame(
        {"ticker": expected["ticker"].tolist(), "timestamp": [value.date() for value in expected["trade_date"]]}
    )

    with FeatureStore(synthetic_store) as store:
        got = store.get_historical_features(entities, FEATURES)

    assert got.height == len(expected)
    assert got["feature_date"].to_list() == entities["timestamp"].to_list()
    actual = got.select(["ticker", *FEATURES]).to_pandas()
    pd.testing.assert_frame_equal(actual, expected[["ticker", *FEATURES]], check_dtype=False)


def test_a_day_without_a_row_gets_the_last_trading_day_before_it(synthetic_store):
    days = trading_days(synthetic_store, "AAPL")
    saturday = next(day for day in days if day.weekday() == 4) + dt.timedelta(days=1)
    friday = saturday - dt.timedelta(days=1)
    entities = pl.DataFrame({"ticker": ["AAPL", "AAPL"], "timestamp": [saturday, days[0] - dt.timedelta(days=1)]})

    with FeatureStore(synthetic_store) as store:
        got = store.get_historical_features(entities, ["rsi_14"])

    assert got["feature_date"].to_list() == [friday, None]  # before the first row: nothing to see yet


def test_an_intraday_timestamp_gets_the_last_close_strictly_before_it(synthetic_store):
    ticker = two_tickers(synthetic_store)[1]
    days = trading_days(synthetic_store, ticker)
    # A winter day (New York is UTC-5) and a summer day (UTC-4), each with the trading day before it.
    winter = next(index for index, day in enumerate(days) if day.month == 1 and index > 0)
    summer = next(index for index, day in enumerate(days) if day.month == 7 and index > 0)
    cases = []  # (timestamp, expected feature date)
    for index in (winter, summer):
        day, before = days[index], days[index - 1]
        at = lambda hours, minutes=0, seconds=0, day=day: dt.datetime.combine(day, dt.time(hours, minutes, seconds))  # noqa: E731
        cases += [(at(10, 30), before), (at(16), before), (at(16, 0, 1), day), (at(0), before), (at(23, 59), day)]
    naive = pl.DataFrame({"ticker": [ticker] * len(cases), "timestamp": [case[0] for case in cases]})
    # The same instants in UTC: 16:30 New York is 21:30 UTC in winter and 20:30 UTC in summer.
    utc_cases = [
        (dt.datetime.combine(days[winter], dt.time(21, 30)), days[winter]),
        (dt.datetime.combine(days[winter], dt.time(20, 30)), days[winter - 1]),
        (dt.datetime.combine(days[summer], dt.time(20, 30)), days[summer]),
        (dt.datetime.combine(days[summer], dt.time(19, 30)), days[summer - 1]),
    ]
    aware = pl.DataFrame(
        {"ticker": [ticker] * len(utc_cases), "timestamp": [case[0] for case in utc_cases]}
    ).with_columns(pl.col("timestamp").dt.replace_time_zone("UTC"))

    with FeatureStore(synthetic_store) as store:
        got_naive = store.get_historical_features(naive, ["rsi_14"])
        got_aware = store.get_historical_features(aware, ["rsi_14"])
        at_close = store.get_historical_features(
            pl.DataFrame({"ticker": [ticker], "timestamp": [days[winter - 1]]}), ["rsi_14"]
        )

    assert got_naive["feature_date"].to_list() == [case[1] for case in cases]
    assert got_aware["feature_date"].to_list() == [case[1] for case in utc_cases]
    # 10:30 on a day sees exactly what the day before's close gave.
    assert got_naive["rsi_14"][0] == at_close["rsi_14"][0]


def test_every_entity_row_comes_back_once_in_its_order_with_its_columns(synthetic_store):
    days = trading_days(synthetic_store, "AAPL")
    entities = pd.DataFrame(
        {
            "ticker": [two_tickers(synthetic_store)[1], "AAPL", "NOPE", "AAPL", "AAPL"],
            "timestamp": [days[40], days[300], days[10], days[300], days[5]],
            "my_label": [1, 2, 3, 4, 5],
        }
    )
    entities["timestamp"] = [pd.Timestamp(day).date() for day in entities["timestamp"]]

    with FeatureStore(synthetic_store) as store:
        got = store.get_historical_features(entities, ["rsi_14", "ret_5d"], output="pandas")

    assert list(got.columns) == ["ticker", "timestamp", "my_label", "feature_date", "rsi_14", "ret_5d"]
    assert got["my_label"].tolist() == [1, 2, 3, 4, 5] and got["ticker"].tolist() == entities["ticker"].tolist()
    assert got.loc[2, "feature_date"] is None and pd.isna(got.loc[2, "rsi_14"])  # a ticker the store lacks
    same = ["feature_date", "rsi_14", "ret_5d"]
    assert got.loc[1, same].tolist() == got.loc[3, same].tolist()  # the same entity twice: the same row twice
    # The sixth row of AAPL: RSI(14) is still warming up (NULL), the 5-day return is there.
    assert pd.isna(got.loc[4, "rsi_14"]) and not pd.isna(got.loc[4, "ret_5d"])


def test_labels_and_unknown_features_are_refused_and_so_are_bad_entities(synthetic_store):
    entities = pl.DataFrame({"ticker": ["AAPL"], "timestamp": [dt.date(2023, 6, 1)]})
    with FeatureStore(synthetic_store) as store:
        for name in ("fwd_ret_5d", "label_up_5d", "label_beats_median_5d"):
            with pytest.raises(FeatureRequestError, match="never a feature"):
                store.get_historical_features(entities, [name])
        with pytest.raises(FeatureRequestError, match="no feature named nope"):
            store.get_latest_features(["AAPL"], ["rsi_14", "nope"])
        assert not any(name.startswith(("label_", "fwd_")) for name in store.list_features())
        with pytest.raises(FeatureRequestError, match="no column timestamp"):
            store.get_historical_features(entities.rename({"timestamp": "ts"}), ["rsi_14"])
        with pytest.raises(FeatureRequestError, match="dates or timestamps"):
            store.get_historical_features(entities.with_columns(pl.col("timestamp").cast(pl.Utf8)), ["rsi_14"])
        with pytest.raises(FeatureRequestError, match="output must be one of"):
            store.get_latest_features(["AAPL"], output="numpy")


def test_the_latest_features_are_each_tickers_last_row_up_to_as_of(synthetic_store):
    tickers = two_tickers(synthetic_store)
    days = trading_days(synthetic_store, "AAPL")
    as_of = next(day for day in days[200:] if day.weekday() == 4) + dt.timedelta(days=1)  # a Saturday
    with FeatureStore(synthetic_store) as store:
        latest = store.get_latest_features([*reversed(tickers), "NOPE"], FEATURES)
        earlier = store.get_latest_features(["AAPL"], FEATURES, as_of=as_of)
        everyone = store.get_latest_features(output="arrow")

    expected = mart_rows(synthetic_store).groupby("ticker").tail(1)
    expected = expected[expected["ticker"].isin(tickers)].reset_index(drop=True)
    assert latest["ticker"].to_list() == tickers  # ordered by ticker; NOPE has no row
    pd.testing.assert_frame_equal(
        latest.select(["ticker", *FEATURES]).to_pandas(), expected[["ticker", *FEATURES]], check_dtype=False
    )
    assert earlier["feature_date"].to_list() == [max(day for day in days if day <= as_of)]
    assert isinstance(everyone, pa.Table)
    with duckdb.connect(str(synthetic_store), read_only=True) as connection:
        tickers = connection.execute("select count(distinct ticker) from marts.fct_features").fetchall()[0][0]
    assert everyone.num_rows == tickers


def test_the_client_only_reads(synthetic_store):
    before = synthetic_store.stat().st_mtime_ns
    with FeatureStore(synthetic_store) as store:
        store.get_latest_features(["AAPL"])
        # The file stays open to other readers while the client holds it.
        with duckdb.connect(str(synthetic_store), read_only=True) as other:
            assert other.execute("select count(*) from marts.fct_features").fetchall()[0][0] > 0
    assert synthetic_store.stat().st_mtime_ns == before


def test_a_ttl_leaves_out_features_older_than_it_and_changes_nothing_else(synthetic_store):
    days = trading_days(synthetic_store, "AAPL")
    saturday = next(day for day in days[100:] if day.weekday() == 4) + dt.timedelta(days=1)
    entities = pl.DataFrame({"ticker": ["AAPL"] * 3, "timestamp": [days[150], saturday, days[-1]]})
    with FeatureStore(synthetic_store) as store:
        plain = store.get_historical_features(entities, ["rsi_14", "regime_id"])
        same_day = store.get_historical_features(entities, ["rsi_14", "regime_id"], ttl=dt.timedelta(0))
        week = store.get_historical_features(entities, ["rsi_14", "regime_id"], ttl=dt.timedelta(days=7))
        with pytest.raises(FeatureRequestError, match="whole, non-negative"):
            store.get_historical_features(entities, ["rsi_14"], ttl=dt.timedelta(hours=5))

    assert week.equals(plain)
    # The Saturday's last close (Friday) is one day old: NULL with ttl 0, the other rows unchanged.
    assert same_day["feature_date"].to_list() == [days[150], None, days[-1]]
    assert same_day["rsi_14"][1] is None and same_day["regime_id"][1] is None
    assert same_day[[0, 2]].equals(plain[[0, 2]])

"""Cross-asset features (`intermediate.int_features__cross_asset`) against an independent pandas computation.

Every input is the value of the latest series row dated strictly before the row's date (T-1), and none
when that row is more than 7 calendar days old. The point-in-time proof rewrites the market series on
one date D and rebuilds: features at D must not move, features on the next trading day must.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from helpers import assert_features_close, dbt_build, private_copy, read, run_dbt

pytestmark = pytest.mark.slow

MAX_LAG = pd.Timedelta(days=7)
FEATURES = [
    "vix_level",
    "vix_change_5d",
    "vix_z_60",
    "yield_10y_level",
    "yield_10y_change_5d",
    "btc_overnight_ret",
    "btc_ret_5d",
    "spy_ret_1d",
    "spy_ret_5d",
    "qqq_ret_5d",
    "iwm_minus_spy_5d",
    "sector_etf_ret_5d",
    "rel_strength_spy_20d",
    "beta_spy_60d",
    "corr_spy_60d",
]
MARKET_SERIES = ["^VIX", "^TNX", "BTC-USD", "SPY", "QQQ", "IWM", "DIA"]


def series_values(closes: pd.DataFrame) -> pd.DataFrame:
    """Per-date values of one series from its adjusted closes (columns series_date, level)."""
    frame = closes.sort_values("series_date", ignore_index=True)
    level = frame["level"]
    return frame.assign(
        change_5d=level - level.shift(5),
        ret_1d=level / level.shift(1) - 1,
        ret_5d=level / level.shift(5) - 1,
        level_z_60=(level - level.rolling(60).mean()) / level.rolling(60).std(),
    )


def as_of_before(dates: pd.Series, series: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """For each date, `columns` of the latest series row dated strictly before it, at most 7 days old."""
    left = pd.DataFrame({"trade_date": dates.drop_duplicates().sort_values()})
    if series.empty:
        return left.assign(**{column: np.nan for column in columns})
    matched = pd.merge_asof(
        left,
        series[["series_date", *columns]].sort_values("series_date"),
        left_on="trade_date",
        right_on="series_date",
        allow_exact_matches=False,
        tolerance=MAX_LAG,
    )
    return matched.drop(columns="series_date")


def expected_cross_asset(store: Path) -> pd.DataFrame:
    prices = read(store, "select ticker, trade_date, close, ret_1d from intermediate.int_prices__sequenced")
    closes = read(
        store,
        "select ticker, trade_date as series_date, close as level from staging.stg_raw__prices "
        "where ticker in (select ticker from marts.dim_tickers where cross_asset_role is not null "
        "or ticker in ('SPY', 'QQQ', 'IWM') or ticker in (select sector_etf from marts.dim_tickers))",
    )
    sectors = read(store, "select ticker, sector_etf from marts.dim_tickers")
    roles = read(store, "select cross_asset_role, ticker from marts.dim_tickers where cross_asset_role is not null")
    role_ticker = dict(zip(roles["cross_asset_role"], roles["ticker"], strict=True))

    def series(ticker: str) -> pd.DataFrame:
        return series_values(closes.loc[closes["ticker"] == ticker, ["series_date", "level"]])

    dates = prices["trade_date"]
    by_date = pd.DataFrame({"trade_date": dates.drop_duplicates().sort_values()})
    for name, ticker, columns in [
        ("vix", role_ticker["volatility"], ["level", "change_5d", "level_z_60"]),
        ("yield", role_ticker["yield_10y"], ["level", "change_5d"]),
        ("btc", role_ticker["crypto"], ["level", "ret_5d"]),
        ("spy", "SPY", ["ret_1d", "ret_5d"]),
        ("qqq", "QQQ", ["ret_5d"]),
        ("iwm", "IWM", ["ret_5d"]),
    ]:
        values = as_of_before(dates, series(ticker), columns)
        by_date = by_date.merge(values.add_prefix(f"{name}_").rename(columns={f"{name}_trade_date": "trade_date"}))

    sector_values = []
    for sector_etf in sectors["sector_etf"].dropna().unique():
        values = as_of_before(dates, series(sector_etf), ["ret_5d"]).rename(columns={"ret_5d": "sector_etf_ret_5d"})
        sector_values.append(values.assign(sector_etf=sector_etf))
    sector_frame = pd.concat(sector_values, ignore_index=True)

    rows = prices.merge(by_date, on="trade_date").merge(sectors, on="ticker", how="left")
    rows = rows.merge(sector_frame, on=["sector_etf", "trade_date"], how="left")
    spy_close = closes.loc[closes["ticker"] == "SPY", ["series_date", "level"]]
    rows = rows.merge(
        spy_close.rename(columns={"series_date": "trade_date", "level": "spy_close"}), on="trade_date", how="left"
    )

    frames = []
    for _, group in rows.sort_values(["ticker", "trade_date"]).groupby("ticker", sort=False):
        group = group.reset_index(drop=True)
        close, spy = group["close"], group["spy_close"]
        spy_ret = spy / spy.shift(1) - 1
        pair = group["ret_1d"].notna() & spy_ret.notna()
        ticker_ret = group["ret_1d"].where(pair).shift(1)
        market_ret = spy_ret.where(pair).shift(1)
        covariance = ticker_ret.rolling(60, min_periods=60).cov(market_ret)
        beta = covariance / market_ret.rolling(60, min_periods=60).var().replace(0, np.nan)
        corr = ticker_ret.rolling(60, min_periods=60).corr(market_ret).clip(-1, 1)
        frames.append(
            pd.DataFrame(
                {
                    "ticker": group["ticker"],
                    "trade_date": group["trade_date"],
                    "vix_level": group["vix_level"],
                    "vix_change_5d": group["vix_change_5d"],
                    "vix_z_60": group["vix_level_z_60"],
                    "yield_10y_level": group["yield_level"],
                    "yield_10y_change_5d": group["yield_change_5d"],
                    "btc_overnight_ret": group["btc_level"] / group["btc_level"].shift(1) - 1,
                    "btc_ret_5d": group["btc_ret_5d"],
                    "spy_ret_1d": group["spy_ret_1d"],
                    "spy_ret_5d": group["spy_ret_5d"],
                    "qqq_ret_5d": group["qqq_ret_5d"],
                    "iwm_minus_spy_5d": group["iwm_ret_5d"] - group["spy_ret_5d"],
                    "sector_etf_ret_5d": group["sector_etf_ret_5d"],
                    "rel_strength_spy_20d": (close.shift(1) / close.shift(21) - 1) - (spy.shift(1) / spy.shift(21) - 1),
                    "beta_spy_60d": beta,
                    "corr_spy_60d": corr,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def actual_cross_asset(store: Path) -> pd.DataFrame:
    return read(store, f"select ticker, trade_date, {', '.join(FEATURES)} from intermediate.int_features__cross_asset")


def test_cross_asset_features_match_pandas_on_the_synthetic_market(synthetic_store):
    actual = actual_cross_asset(synthetic_store)
    assert_features_close(actual, expected_cross_asset(synthetic_store), FEATURES, rtol=1e-7, atol=1e-10)
    # Every series is loaded in the synthetic market: every feature is populated.
    assert actual[FEATURES].notna().sum().min() > 10_000


def test_cross_asset_features_match_pandas_on_the_real_data(real_store):
    actual = actual_cross_asset(real_store)
    assert_features_close(actual, expected_cross_asset(real_store), FEATURES, rtol=1e-7, atol=1e-10)


def test_a_series_that_was_not_loaded_gives_null_columns(real_store):
    # The real data has no BTC-USD, no IWM and no sector ETFs; it has ^VIX, ^TNX, SPY and QQQ until
    # 2019-02-22 while the stocks run to 2020-01-10: no value is carried more than 7 days past the end.
    counts = read(
        real_store,
        "select " + ", ".join(f"count({column}) as {column}" for column in FEATURES) + ", "
        "max(trade_date) filter (where vix_level is not null) as last_vix_date "
        "from intermediate.int_features__cross_asset",
    ).iloc[0]
    for column in ["btc_overnight_ret", "btc_ret_5d", "iwm_minus_spy_5d", "sector_etf_ret_5d"]:
        assert counts[column] == 0, column
    for column in ["vix_level", "vix_z_60", "yield_10y_level", "spy_ret_5d", "qqq_ret_5d", "beta_spy_60d"]:
        assert counts[column] > 300_000, column
    assert counts["last_vix_date"] == pd.Timestamp("2019-03-01")  # Friday 2019-02-22 + 7 days


def test_monday_sees_fridays_vix_and_the_weekends_bitcoin(synthetic_store):
    features = read(
        synthetic_store,
        """
        select features.trade_date, features.vix_level, features.btc_overnight_ret, prices.ticker_row
        from intermediate.int_features__cross_asset as features
        inner join intermediate.int_prices__sequenced as prices using (ticker, trade_date)
        where features.ticker = 'SPY' and dayofweek(features.trade_date) = 1 and prices.ticker_row > 1
        order by features.trade_date
        """,
    )
    closes = read(
        synthetic_store,
        "select ticker, trade_date, close from staging.stg_raw__prices where ticker in ('^VIX', 'BTC-USD')",
    )
    vix = closes[closes["ticker"] == "^VIX"].set_index("trade_date")["close"]
    btc = closes[closes["ticker"] == "BTC-USD"].set_index("trade_date")["close"]
    assert len(features) > 100
    for _, row in features.iterrows():
        friday, thursday, sunday = (row["trade_date"] - pd.Timedelta(days=days) for days in (3, 4, 1))
        assert row["vix_level"] == pytest.approx(vix[friday], rel=1e-12)
        # Monday's BTC input is Sunday's close; the previous row (Friday) saw Thursday's.
        assert row["btc_overnight_ret"] == pytest.approx(btc[sunday] / btc[thursday] - 1, rel=1e-9)


@pytest.fixture(scope="module")
def rewritten_market(synthetic_store, tmp_path_factory):
    """A copy of the synthetic store whose market series are rewritten on one Friday D, rebuilt."""
    folder = tmp_path_factory.mktemp("cross_asset_rewritten")
    db_path = folder / "store.duckdb"
    shutil.copy(synthetic_store, db_path)
    dates = read(db_path, "select distinct trade_date from raw.prices where ticker = 'SPY' order by 1")["trade_date"]
    cutoff = next(day for day in dates.iloc[len(dates) // 2 :] if day.dayofweek == 4)
    sector_etfs = read(db_path, "select distinct sector_etf from marts.dim_tickers where sector_etf is not null")
    rewritten = MARKET_SERIES + list(sector_etfs["sector_etf"])
    with duckdb.connect(str(db_path)) as connection:
        # Whole bars are scaled, so OHLC stay consistent. BTC-USD is rewritten from D through Sunday, the
        # close that Monday's row is the first to see.
        connection.execute(
            """
            update raw.prices set
                open = open * 1.3, high = high * 1.3, low = low * 1.3, close = close * 1.3, adj_close = adj_close * 1.3
            where ticker in ? and (trade_date = ? or (ticker = 'BTC-USD' and trade_date between ? and ? + 2))
            """,
            [rewritten, cutoff.date(), cutoff.date(), cutoff.date()],
        )
    # --full-refresh: the copy already holds built marts, which a daily (incremental) build would keep.
    result = dbt_build(db_path, folder, "--full-refresh", "--select", "+int_features__cross_asset")
    assert result.returncode == 0, result.stdout[-4000:]
    return db_path, cutoff


def test_a_market_value_on_d_does_not_change_features_on_d_only_later(synthetic_store, rewritten_market):
    db_path, cutoff = rewritten_market
    before, after = actual_cross_asset(synthetic_store), actual_cross_asset(db_path)
    known = before["trade_date"] <= cutoff
    assert_features_close(after[after["trade_date"] <= cutoff], before[known], FEATURES, rtol=1e-7, atol=1e-10)
    next_day = before.loc[~known, "trade_date"].min()
    changed_before = before[before["trade_date"] == next_day].set_index("ticker")
    changed_after = after[after["trade_date"] == next_day].set_index("ticker")
    for column in ["vix_level", "yield_10y_level", "btc_overnight_ret", "spy_ret_1d", "qqq_ret_5d", "iwm_minus_spy_5d"]:
        assert not np.allclose(changed_before[column], changed_after[column]), column
    with_sector = changed_before["sector_etf_ret_5d"].notna()
    assert with_sector.any()
    assert not np.allclose(
        changed_before.loc[with_sector, "sector_etf_ret_5d"], changed_after.loc[with_sector, "sector_etf_ret_5d"]
    )


def show_inline(store: Path, tmp_path: Path, sql: str) -> list[dict]:
    """Run `dbt show --inline` against a copy of `store` and return its rows."""
    copy = private_copy(store, tmp_path / "store")
    result = run_dbt(copy, tmp_path, "show", "--inline", sql, "--output", "json", "--log-format", "json")
    assert result.returncode == 0, result.stdout[-3000:]
    for line in result.stdout.splitlines():
        event = json.loads(line)
        if event["info"]["name"] == "ShowNode":
            return json.loads(event["data"]["preview"])
    raise AssertionError("dbt show printed no rows: " + result.stdout[-3000:])


def test_the_portable_asof_join_gives_the_same_rows_as_duckdbs(synthetic_store, tmp_path):
    # default__asof_before is what other engines would run; DuckDB never dispatches to it, so compare here.
    vix = (
        "'calendar', 'vix', {'level': 'v_level', 'level_z_60': 'v_level_z_60'}, 'trade_date', 'series_date', [], "
        "'v_as_of_date'"
    )
    cases = {
        "strict_7_days": f"{vix}, 7, true",
        "on_or_before": f"{vix}, none, false",
        "matched_by_key": "'sector_dates', 'sectors', {'series_ret_5d': 's_ret_5d'}, 'trade_date', 'series_date', "
        "['sector_etf'], 's_as_of_date', 7, true",
    }
    ctes = []
    checks = []
    for name, arguments in cases.items():
        ctes.append(f"native_{name} as ({{{{ duckdb__asof_before({arguments}) }}}})")
        ctes.append(f"portable_{name} as ({{{{ default__asof_before({arguments}) }}}})")
        checks.append(
            f"(select count(*) from (select * from native_{name} except select * from portable_{name})) "
            f"+ (select count(*) from (select * from portable_{name} except select * from native_{name})) "
            f"as {name}_differences, (select count(*) from native_{name}) as {name}_rows, "
            f"(select count(*) from portable_{name}) as {name}_portable_rows"
        )
    sql = f"""
        with market as (select * from {{{{ ref('int_market__daily_series') }}}}),
        calendar as (select distinct trade_date from {{{{ ref('int_prices__sequenced') }}}}),
        vix as (select series_date, level, level_z_60 from market where series_role = 'volatility'),
        sectors as (
            select series_ticker as sector_etf, series_date, series_ret_5d from market where series_role = 'sector_etf'
        ),
        sector_dates as (
            select distinct sector_etf, trade_date from calendar cross join (select distinct sector_etf from sectors)
        ),
        {", ".join(ctes)}
        select {", ".join(checks)}
    """
    (row,) = show_inline(synthetic_store, tmp_path, sql)
    for name in cases:
        assert row[f"{name}_rows"] == row[f"{name}_portable_rows"] > 700, name
        assert row[f"{name}_differences"] == 0, name


def test_asof_before_rejects_bad_arguments_at_compile_time(synthetic_store, tmp_path):
    sql = "select * from ({{ asof_before('calendar', 'vix', 'level') }}) as joined"
    result = run_dbt(private_copy(synthetic_store, tmp_path / "store"), tmp_path, "compile", "--inline", sql)
    assert result.returncode != 0
    assert "asof_before needs `columns`" in result.stdout

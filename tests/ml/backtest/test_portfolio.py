"""Overlapping-portfolio backtest and performance statistics: hand-checked arithmetic, benchmarks and bad inputs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ml.backtest.portfolio import BacktestResult, performance, select_top, simulate

TOL = 1e-12


def frame_from(table: dict[str, dict[str, float]], value: str) -> pd.DataFrame:
    """{date: {ticker: value}} -> long frame with columns trade_date, ticker, value."""
    rows = [
        {"trade_date": pd.Timestamp(date), "ticker": ticker, value: number}
        for date, by_ticker in table.items()
        for ticker, number in by_ticker.items()
    ]
    return pd.DataFrame(rows)


def random_panel(dates: int, tickers: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Random scores and returns with NaN scores and missing return rows sprinkled in."""
    rng = np.random.default_rng(seed)
    calendar = pd.bdate_range("2021-01-04", periods=dates)
    index = pd.MultiIndex.from_product(
        [calendar, [f"T{i:03d}" for i in range(tickers)]], names=["trade_date", "ticker"]
    )
    panel = pd.DataFrame(index=index).reset_index()
    panel["score"] = rng.normal(size=len(panel))
    panel.loc[rng.random(len(panel)) < 0.05, "score"] = np.nan
    panel["ret_1d"] = rng.normal(0, 0.02, size=len(panel))
    signals = panel[["trade_date", "ticker", "score"]]
    returns = panel.loc[rng.random(len(panel)) > 0.03, ["trade_date", "ticker", "ret_1d"]]
    return signals, returns.reset_index(drop=True)


# --------------------------------------------------------------------------------------------------------------
# 1. A tiny case computed by hand
# --------------------------------------------------------------------------------------------------------------


def test_tiny_case_matches_hand_arithmetic_sleeve_by_sleeve():
    # 4 tickers, horizon 2 (two sleeves of 0.5), top_fraction 0.5 (k = 2), cost 10 bps per side (c = 0.001).
    # Signal dates d0..d3 select {A,B}, {C,D}, {A,C}, {B,D}. Returns exist on d_-1 (before the first signal date:
    # not on the calendar) and d0 (nothing held yet: ignored); D has no return row on d3 (earns 0).
    c = 0.001
    signals = frame_from(
        {
            "2024-01-02": {"A": 4, "B": 3, "C": 2, "D": 1},
            "2024-01-03": {"C": 4, "D": 3, "A": 2, "B": 1},
            "2024-01-04": {"A": 4, "C": 3, "B": 2, "D": 1},
            "2024-01-05": {"B": 4, "D": 3, "A": 2, "C": 1},
        },
        "score",
    )
    returns = frame_from(
        {
            "2024-01-01": {"A": 0.5, "B": 0.5, "C": 0.5, "D": 0.5},
            "2024-01-02": {"A": 0.2, "B": 0.2, "C": 0.2, "D": 0.2},
            "2024-01-03": {"A": 0.1, "B": -0.05, "C": 0.0, "D": 0.1},
            "2024-01-04": {"A": -0.05, "B": 0.1, "C": 0.1, "D": 0.0},
            "2024-01-05": {"A": 0.0, "B": 0.0, "C": -0.05},
            "2024-01-08": {"A": 0.1, "B": 0.1, "C": 0.0, "D": -0.05},
            "2024-01-09": {"A": 0.0, "B": -0.05, "C": 0.1, "D": 0.1},
        },
        "ret_1d",
    )
    result = simulate(signals, returns, top_fraction=0.5, horizon=2, cost_bps=10)

    # d0: sleeve 0 (cash 0.5) buys {A,B}: traded 0.5, cost 0.0005, A = B = 0.49950 / 2. Sleeve 1: cash 0.5.
    a0 = b0 = (0.5 - c * 0.5) / 2
    pre0, cost0 = 1.0, c * 0.5
    post0 = pre0 - cost0
    # d1: sleeve 0 drifts A*1.10, B*0.95. Sleeve 1 (cash 0.5) buys {C,D}: traded 0.5, C = D = 0.49950 / 2.
    a1, b1 = a0 * 1.1, b0 * 0.95
    pre1, cost1 = a1 + b1 + 0.5, c * 0.5
    post1 = pre1 - cost1
    c1 = d1 = (0.5 - c * 0.5) / 2
    # d2: sleeve 0: A*0.95, B*1.10 (both 0.26098875); sleeve 1: C*1.10, D*1.00.
    # Sleeve 0 switches {A,B} -> {A,C}: value V = A + B, targets V/2 each; A is already at V/2 (no trade),
    # B is sold (V/2), C is bought (V/2): traded = V. Then A = C = (V - c V) / 2.
    a2, b2, c2, d2 = a1 * 0.95, b1 * 1.1, c1 * 1.1, d1 * 1.0
    value_s0 = a2 + b2
    assert a2 == pytest.approx(value_s0 / 2, abs=TOL)
    pre2, traded2 = value_s0 + c2 + d2, value_s0
    cost2 = c * traded2
    post2 = pre2 - cost2
    a2 = c2_s0 = (value_s0 - cost2) / 2
    # d3: sleeve 0: A*1.00, C*0.95; sleeve 1: C*0.95, D*1.00 (no row for D: earns 0).
    # Sleeve 1 switches {C,D} -> {B,D}: V = C + D, targets V/2; traded = V/2 (buy B) + C (sell C) + |V/2 - D|.
    a3, c3_s0, c3_s1, d3 = a2 * 1.0, c2_s0 * 0.95, c2 * 0.95, d2 * 1.0
    value_s1 = c3_s1 + d3
    pre3 = a3 + c3_s0 + value_s1
    traded3 = value_s1 / 2 + c3_s1 + abs(value_s1 / 2 - d3)
    cost3 = c * traded3
    post3 = pre3 - cost3
    b3 = d3 = (value_s1 - cost3) / 2
    # d4 (the first date after the last signal date): sleeve 0: A*1.10, C*1.00; sleeve 1: B*1.10, D*0.95.
    # Sleeve 0's turn: it liquidates into cash, paying c on the sale.
    a4, c4, b4, d4 = a3 * 1.1, c3_s0 * 1.0, b3 * 1.1, d3 * 0.95
    pre4, traded4 = a4 + c4 + b4 + d4, a4 + c4
    cost4 = c * traded4
    post4 = pre4 - cost4
    cash_s0 = a4 + c4 - cost4
    # d5 = d3 + horizon: sleeve 0 (cash) earns 0; sleeve 1: B*0.95, D*1.10, then liquidates. The simulation ends.
    b5, d5 = b4 * 0.95, d4 * 1.1
    pre5, traded5 = cash_s0 + b5 + d5, b5 + d5
    cost5 = c * traded5
    post5 = pre5 - cost5

    pre = [pre0, pre1, pre2, pre3, pre4, pre5]
    post = [post0, post1, post2, post3, post4, post5]
    costs = [cost0, cost1, cost2, cost3, cost4, cost5]
    traded = [0.5, 0.5, traded2, traded3, traded4, traded5]
    invested = [
        (a0 + b0) / post0,
        1.0,
        1.0,
        1.0,
        (b4 + d4) / post4,
        0.0,
    ]
    previous = [1.0, *post[:-1]]
    gross = [0.0] + [pre[t] / previous[t] - 1 for t in range(1, 6)]

    daily = result.daily
    assert isinstance(result, BacktestResult)
    assert list(daily.columns) == [
        "trade_date",
        "gross_return",
        "net_return",
        "turnover",
        "cost",
        "invested",
        "nav_gross",
        "nav_net",
    ]
    assert list(daily["trade_date"]) == list(
        pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-08", "2024-01-09"])
    )
    np.testing.assert_allclose(daily["gross_return"], gross, rtol=0, atol=TOL)
    np.testing.assert_allclose(daily["cost"], [costs[t] / previous[t] for t in range(6)], rtol=0, atol=TOL)
    np.testing.assert_allclose(daily["net_return"], [post[t] / previous[t] - 1 for t in range(6)], rtol=0, atol=TOL)
    np.testing.assert_allclose(daily["turnover"], [traded[t] / pre[t] for t in range(6)], rtol=0, atol=TOL)
    np.testing.assert_allclose(daily["invested"], invested, rtol=0, atol=TOL)
    np.testing.assert_allclose(daily["nav_net"], post, rtol=0, atol=TOL)
    np.testing.assert_allclose(daily["nav_gross"], np.cumprod(1 + np.array(gross)), rtol=0, atol=TOL)
    # A few of the hand values as plain numbers, so a slip in the expressions above cannot hide a bug.
    assert daily["nav_net"].iloc[0] == pytest.approx(0.9995, abs=TOL)
    assert daily["nav_net"].iloc[2] == pytest.approx(1.0459305225, abs=TOL)
    assert daily["nav_net"].iloc[5] == pytest.approx(1.066600769387175, abs=TOL)
    assert traded3 == pytest.approx(0.5219775, abs=TOL)

    # Tranches: equal-weight compounded return over the next two calendar dates, gross of costs.
    # d0 {A,B}: A 1.1*0.95, B 0.95*1.1 -> 0.045. d1 {C,D}: C 1.1*0.95 - 1 = 0.045, D 1.0*1.0 - 1 = 0 -> 0.0225.
    # d2 {A,C}: A 1.0*1.1 - 1 = 0.1, C 0.95*1.0 - 1 = -0.05 -> 0.025. d3 {B,D}: 1.1*0.95 - 1 = 0.045 each.
    tranches = result.tranches
    assert list(tranches.columns) == ["signal_date", "names", "tranche_return"]
    assert list(tranches["signal_date"]) == list(daily["trade_date"].iloc[:4])
    assert list(tranches["names"]) == [2, 2, 2, 2]
    np.testing.assert_allclose(tranches["tranche_return"], [0.045, 0.0225, 0.025, 0.045], rtol=0, atol=TOL)


def test_data_ending_early_marks_open_positions_and_leaves_late_tranches_undefined():
    signals = frame_from({"2024-01-02": {"A": 2, "B": 1}, "2024-01-03": {"A": 1, "B": 2}}, "score")
    returns = frame_from(
        {"2024-01-02": {"A": 0.0, "B": 0.0}, "2024-01-03": {"A": 0.1, "B": 0.2}, "2024-01-04": {"A": 0.1, "B": -0.1}},
        "ret_1d",
    )
    result = simulate(signals, returns, top_fraction=0.5, horizon=3, cost_bps=10)
    # Liquidation would be on calendar date 1 + 3 = 4; the data ends at date 2, so positions are marked there.
    assert len(result.daily) == 3
    # Sleeve 0 holds A since d0, sleeve 1 holds B since d1; sleeve 2 has never traded (cash, 1/3).
    a = (1 / 3) * (1 - 0.001) * 1.1 * 1.1
    b = (1 / 3) * (1 - 0.001) * 0.9
    assert result.daily["nav_net"].iloc[-1] == pytest.approx(a + b + 1 / 3, abs=TOL)
    assert result.daily["invested"].iloc[-1] == pytest.approx((a + b) / (a + b + 1 / 3), abs=TOL)
    assert result.daily["cost"].iloc[-1] == 0.0
    # Fewer than 3 calendar dates follow either signal date.
    assert result.tranches["tranche_return"].isna().all()
    assert list(result.tranches["names"]) == [1, 1]


def test_a_date_without_scores_sends_its_sleeve_to_cash_paying_the_sale():
    signals = frame_from({"2024-01-02": {"A": 1.0}, "2024-01-03": {"A": np.nan}}, "score")
    returns = frame_from({"2024-01-02": {"A": 0.0}, "2024-01-03": {"A": 0.1}, "2024-01-04": {"A": 0.1}}, "ret_1d")
    result = simulate(signals, returns, top_fraction=1.0, horizon=1, cost_bps=50)
    # d0: buy A with 1.0 (cost 0.005). d1: A earns 10%, then is sold (no selection): cost 0.005 * 0.999... * 1.1.
    held = (1 - 0.005) * 1.1
    assert result.daily["nav_net"].iloc[1] == pytest.approx(held * (1 - 0.005), abs=TOL)
    assert result.daily["invested"].iloc[1] == 0.0
    # d2 (the end: one date after the last signal date): cash earns nothing although A rose 10%.
    assert result.daily["gross_return"].iloc[2] == 0.0
    assert result.daily["nav_net"].iloc[2] == pytest.approx(held * (1 - 0.005), abs=TOL)
    assert list(result.tranches["names"]) == [1, 0]
    assert result.tranches["tranche_return"].iloc[0] == pytest.approx(0.1, abs=TOL)
    assert np.isnan(result.tranches["tranche_return"].iloc[1])


# --------------------------------------------------------------------------------------------------------------
# 2. Horizon 1, no cost, everyone: equal weight rebalanced daily
# --------------------------------------------------------------------------------------------------------------


def test_horizon_one_everyone_no_cost_is_the_daily_cross_sectional_mean():
    signals, returns = random_panel(dates=40, tickers=25)
    result = simulate(signals, returns, top_fraction=1.0, horizon=1, cost_bps=0)

    scored = signals.dropna(subset=["score"])
    calendar = np.sort(returns["trade_date"].unique())
    lookup = returns.set_index(["trade_date", "ticker"])["ret_1d"]
    expected = [0.0]
    for previous, today in zip(calendar[:-1], calendar[1:], strict=True):
        names = scored.loc[scored["trade_date"] == previous, "ticker"]
        rets = lookup.reindex(pd.MultiIndex.from_arrays([[today] * len(names), names])).fillna(0.0)
        expected.append(rets.mean())
    np.testing.assert_allclose(result.daily["net_return"], expected, rtol=0, atol=TOL)
    np.testing.assert_allclose(result.daily["net_return"], result.daily["gross_return"], rtol=0, atol=0)
    # With one sleeve and no cost, the NAV is the product of the tranche returns. The data end on the last signal
    # date, so its tranche is undefined and its purchase is marked at cost, not liquidated.
    tranche = result.tranches["tranche_return"].to_numpy()
    assert np.isnan(tranche[-1]) and not np.isnan(tranche[:-1]).any()
    assert result.daily["nav_net"].iloc[-1] == pytest.approx(np.prod(1 + tranche[:-1]), rel=1e-12)
    np.testing.assert_allclose(result.daily["invested"], 1.0, rtol=0, atol=TOL)


def test_zero_cost_sleeves_earn_their_tranche_returns():
    # Horizon 3, no cost: each sleeve's value is multiplied by 1 + its tranche return at every rebalance, so the
    # final NAV (all sleeves liquidated) is the mean over sleeves of the product of their tranche returns.
    signals, returns = random_panel(dates=31, tickers=30, seed=3)
    last_date = returns["trade_date"].max()
    signals = signals[signals["trade_date"] <= last_date - pd.offsets.BDay(3)]
    result = simulate(signals, returns, top_fraction=0.2, horizon=3)
    tranche = result.tranches["tranche_return"].to_numpy()
    assert not np.isnan(tranche).any()
    sleeves = [np.prod(1 + tranche[s::3]) / 3 for s in range(3)]
    assert result.daily["nav_net"].iloc[-1] == pytest.approx(sum(sleeves), rel=1e-12)
    assert result.daily["trade_date"].iloc[-1] == last_date
    assert result.daily["invested"].iloc[-1] == 0.0


# --------------------------------------------------------------------------------------------------------------
# 3. select_top
# --------------------------------------------------------------------------------------------------------------


def test_select_top_includes_every_name_tied_at_the_cut():
    signals = frame_from({"2024-01-02": {"A": 5, "B": 3, "C": 3, "D": 3, "E": 1, "F": 0}}, "score")
    # k = ceil(0.5 * 6) = 3 -> A, and the 3-way tie at the cut (B, C, D) is kept whole.
    assert sorted(select_top(signals, 0.5)["ticker"]) == ["A", "B", "C", "D"]
    # k = ceil(0.2 * 6) = 2 -> the 2nd name is one of the tied three, so all three come in.
    assert sorted(select_top(signals, 0.2)["ticker"]) == ["A", "B", "C", "D"]
    # k = ceil(0.1 * 6) = 1 -> A alone: a tie below the cut does not matter.
    assert list(select_top(signals, 0.1)["ticker"]) == ["A"]


def test_select_top_selects_everyone_when_all_scores_are_equal():
    signals = frame_from({"2024-01-02": dict.fromkeys("ABCDEFGHIJ", 0.5)}, "score")
    assert sorted(select_top(signals, 0.1)["ticker"]) == list("ABCDEFGHIJ")


def test_select_top_orders_equal_scores_by_the_tiebreak():
    signals = frame_from({"2024-01-02": {"A": 1.0, "B": 1.0, "C": 1.0, "D": 0.0}}, "score")
    signals["volume"] = [10.0, 30.0, 20.0, 99.0]
    top = select_top(signals, 0.5, tiebreak="volume")  # k = 2: B (30), C (20); A (10) is out, D's score is lower
    assert list(top["ticker"]) == ["B", "C"]
    signals["volume"] = [10.0, 30.0, 10.0, 99.0]  # now A and C tie on both keys at the cut: both in
    assert list(select_top(signals, 0.5, tiebreak="volume")["ticker"]) == ["B", "A", "C"]


def test_select_top_ignores_nan_scores_and_works_per_date():
    signals = frame_from(
        {
            "2024-01-02": {"A": np.nan, "B": 1.0, "C": 2.0, "D": np.nan},
            "2024-01-03": {"A": 4.0, "B": 3.0, "C": 2.0, "D": 1.0},
        },
        "score",
    )
    top = select_top(signals, 0.5)
    # Date 1: n = 2 scored names -> k = 1 -> C (A and D are not counted and cannot be chosen). Date 2: k = 2.
    assert list(zip(top["trade_date"].dt.day, top["ticker"], strict=True)) == [(2, "C"), (3, "A"), (3, "B")]
    assert list(top.columns) == ["trade_date", "ticker"]


def test_select_top_count_is_not_thrown_off_by_floating_point():
    # 0.7 * 10 is 7.000000000000001 in floating point: the cut must still be 7 names, not 8.
    signals = frame_from({"2024-01-02": {f"T{i}": float(i) for i in range(10)}}, "score")
    assert len(select_top(signals, 0.7)) == 7
    assert len(select_top(signals, 1.0)) == 10


# --------------------------------------------------------------------------------------------------------------
# 4. A planted signal beats the benchmark; costs
# --------------------------------------------------------------------------------------------------------------


def planted_panel(dates: int = 60, tickers: int = 20) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Scores that know the next days: the top 2 names by score rise 1% a day, the rest fall 0.5%."""
    calendar = pd.bdate_range("2022-03-01", periods=dates)
    rows = []
    for day, date in enumerate(calendar):
        for i in range(tickers):
            good = (i + day // 5) % tickers < 2  # the winners change every 5 days; the score moves with them
            rows.append(
                {"trade_date": date, "ticker": f"T{i:02d}", "score": float(good), "ret_1d": 0.01 if good else -0.005}
            )
    panel = pd.DataFrame(rows)
    return panel[["trade_date", "ticker", "score"]], panel[["trade_date", "ticker", "ret_1d"]]


def test_a_planted_signal_beats_the_equal_weight_benchmark():
    signals, returns = planted_panel()
    signals = signals[signals["trade_date"] < signals["trade_date"].max() - pd.Timedelta(days=10)]
    strategy = simulate(signals, returns, top_fraction=0.1, horizon=5)
    benchmark = simulate(signals, returns, top_fraction=1.0, horizon=5)
    assert strategy.daily["nav_net"].iloc[-1] > 1.0 > benchmark.daily["nav_net"].iloc[-1]
    assert strategy.tranches["names"].eq(2).all()
    assert benchmark.tranches["names"].eq(20).all()
    # No cost: gross and net coincide.
    np.testing.assert_allclose(strategy.daily["nav_gross"], strategy.daily["nav_net"], rtol=1e-12, atol=0)
    assert strategy.daily["cost"].eq(0).all()


def test_costs_are_charged_per_side_and_compound_into_the_net_nav():
    signals, returns = planted_panel()
    horizon, cost_bps = 5, 25.0
    free = simulate(signals, returns, top_fraction=0.1, horizon=horizon)
    paid = simulate(signals, returns, top_fraction=0.1, horizon=horizon, cost_bps=cost_bps)
    daily = paid.daily
    # The first rebalance buys 1/horizon of capital from cash: cost = rate * 1/horizon, turnover = 1/horizon.
    assert daily["cost"].iloc[0] == pytest.approx(cost_bps / 1e4 / horizon, abs=TOL)
    assert daily["turnover"].iloc[0] == pytest.approx(1 / horizon, abs=TOL)
    assert daily["net_return"].iloc[0] == pytest.approx(-cost_bps / 1e4 / horizon, abs=TOL)
    # Every day: net = gross - cost exactly; the NAVs compound those returns.
    np.testing.assert_allclose(daily["net_return"], daily["gross_return"] - daily["cost"], rtol=0, atol=TOL)
    np.testing.assert_allclose(daily["nav_net"], np.cumprod(1 + daily["net_return"]), rtol=1e-12, atol=0)
    np.testing.assert_allclose(daily["nav_gross"], np.cumprod(1 + daily["gross_return"]), rtol=1e-12, atol=0)
    assert (daily["cost"] > 0).any()
    assert (daily["nav_net"] <= daily["nav_gross"] + TOL).all()
    assert daily["nav_net"].iloc[-1] < daily["nav_gross"].iloc[-1]
    assert daily["nav_net"].iloc[-1] < free.daily["nav_net"].iloc[-1]
    # nav_gross is the strategy's own pre-cost returns compounded, not a zero-cost rerun; the two differ only by
    # the weight costs shift between sleeves, a second-order effect.
    assert daily["nav_gross"].iloc[-1] == pytest.approx(free.daily["nav_net"].iloc[-1], rel=1e-3)
    # Tranche returns are gross of costs: identical with and without costs.
    pd.testing.assert_frame_equal(paid.tranches, free.tranches)


# --------------------------------------------------------------------------------------------------------------
# 5. performance
# --------------------------------------------------------------------------------------------------------------


def test_performance_of_a_hand_series():
    stats = performance([0.1, -0.2, 0.05, np.nan])  # the NaN is dropped
    # nav: 1.0 -> 1.1 -> 0.88 -> 0.924; peak 1.1; worst drawdown 0.88 / 1.1 - 1 = -0.2.
    mean = (0.1 - 0.2 + 0.05) / 3  # -0.05 / 3
    std = math.sqrt(((0.1 - mean) ** 2 + (-0.2 - mean) ** 2 + (0.05 - mean) ** 2) / 2)  # ddof = 1
    assert std == pytest.approx(0.16072751268321592, abs=1e-15)
    assert set(stats) == {
        "days",
        "cumulative_return",
        "annual_return",
        "annual_volatility",
        "sharpe",
        "max_drawdown",
        "positive_days",
    }
    assert stats["days"] == 3
    assert stats["cumulative_return"] == pytest.approx(-0.076, abs=TOL)
    assert stats["annual_return"] == pytest.approx(0.924**84 - 1, abs=TOL)  # 252 / 3 = 84
    assert stats["annual_volatility"] == pytest.approx(std * math.sqrt(252), abs=TOL)
    assert stats["sharpe"] == pytest.approx(mean / std * math.sqrt(252), abs=TOL)
    assert stats["max_drawdown"] == pytest.approx(-0.2, abs=TOL)
    assert stats["positive_days"] == pytest.approx(2 / 3, abs=TOL)


def test_performance_counts_a_first_day_loss_as_drawdown_and_leaves_undefined_values_empty():
    assert performance([-0.1])["max_drawdown"] == pytest.approx(-0.1, abs=TOL)
    single = performance([-0.1])
    assert single["sharpe"] is None and single["annual_volatility"] is None
    assert single["annual_return"] == pytest.approx(0.9**252 - 1, abs=TOL)
    flat = performance(np.zeros(10), periods_per_year=12)
    assert flat["sharpe"] is None
    assert flat["annual_volatility"] == 0.0 and flat["max_drawdown"] == 0.0 and flat["positive_days"] == 0.0
    empty = performance([])
    assert empty["days"] == 0 and all(value is None for key, value in empty.items() if key != "days")
    rising = performance(pd.Series([0.01, 0.02]))
    assert rising["max_drawdown"] == 0.0


# --------------------------------------------------------------------------------------------------------------
# 6. Bad inputs
# --------------------------------------------------------------------------------------------------------------


@pytest.fixture
def small() -> tuple[pd.DataFrame, pd.DataFrame]:
    signals = frame_from({"2024-01-02": {"A": 1.0, "B": 2.0}, "2024-01-03": {"A": 2.0, "B": 1.0}}, "score")
    returns = frame_from(
        {d: {"A": 0.01, "B": -0.01} for d in ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"]}, "ret_1d"
    )
    return signals, returns


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"horizon": 0}, "horizon"),
        ({"horizon": 2.5}, "horizon"),
        ({"cost_bps": -1.0}, "cost_bps"),
        ({"cost_bps": float("nan")}, "cost_bps"),
        ({"top_fraction": 0.0}, "top_fraction"),
        ({"top_fraction": 1.5}, "top_fraction"),
        ({"score": "probability"}, "signals lacks column.*probability"),
        ({"tiebreak": "volume"}, "signals lacks column.*volume"),
    ],
)
def test_bad_parameters_raise_value_error_naming_them(small, kwargs, message):
    signals, returns = small
    with pytest.raises(ValueError, match=message):
        simulate(signals, returns, **kwargs)


def test_bad_frames_raise_value_error_naming_the_problem(small):
    signals, returns = small
    with pytest.raises(ValueError, match="returns lacks column.*ret_1d"):
        simulate(signals, returns.rename(columns={"ret_1d": "ret"}))
    with pytest.raises(ValueError, match="signals has 1 duplicate"):
        simulate(pd.concat([signals, signals.iloc[:1]]), returns)
    with pytest.raises(ValueError, match="returns has 1 duplicate"):
        simulate(signals, pd.concat([returns, returns.iloc[-1:]]))
    with pytest.raises(ValueError, match="contiguous"):
        simulate(
            signals.assign(
                trade_date=signals["trade_date"].replace(pd.Timestamp("2024-01-03"), pd.Timestamp("2024-01-04"))
            ),
            returns,
        )
    with pytest.raises(ValueError, match="no rows in returns"):
        simulate(signals, returns[returns["trade_date"] != pd.Timestamp("2024-01-03")])
    with pytest.raises(ValueError, match="signals is empty"):
        simulate(signals.iloc[:0], returns)
    with pytest.raises(ValueError, match="top_fraction"):
        select_top(signals, 0)
    with pytest.raises(ValueError, match="periods_per_year"):
        performance([0.01], periods_per_year=0)

"""Factor analysis: hand-computed IC, rank IC, quantiles and turnover; Newey-West t; scipy and brute-force checks."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import pearsonr, spearmanr

from ml.factors import DAILY_COLUMNS, QUANTILE_COLUMNS, SUMMARY_COLUMNS, factor_analysis, newey_west_t

TICKERS = list("ABCDEFGHIJ")
DAY_1, DAY_2, DAY_3, DAY_4, DAY_5 = pd.to_datetime(
    ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"]
)


def hand_frame() -> pd.DataFrame:
    """Five dates, ten names (plus K on the last), factor `value` and return `fwd_ret_5d`.

    Day 1: value 1..10 for A..J; returns are the values with neighbours swapped, in percent.
    Day 2: value constant -> skipped. Day 3: J's value missing, nine names left -> skipped.
    Day 4: a three-way tie (B, C, D). Day 5: A's return missing (so its large value must be ignored), K joins.
    """
    rows = []

    def add(day, values, returns, tickers=TICKERS):
        rows.extend(
            {"trade_date": day, "ticker": ticker, "value": value, "fwd_ret_5d": ret}
            for ticker, value, ret in zip(tickers, values, returns, strict=True)
        )

    add(DAY_1, range(1, 11), np.array([2, 1, 4, 3, 6, 5, 8, 7, 10, 9]) / 100)
    add(DAY_2, [3.0] * 10, np.arange(10) / 100)
    add(DAY_3, [1, 2, 3, 4, 5, 6, 7, 8, 9, np.nan], np.arange(10) / 100)
    #        A  B  C  D   E  F  G  H  I  J
    add(DAY_4, [5, 4, 4, 4, -7, 9, 7, 6, 8, 10], [0, 3, -1, 1, -2, 4, 2, -3, -5, 1])
    #            A    B  C  D  E  F  G  H  J  I  K
    day_5_value = [100, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    add(DAY_5, day_5_value, [np.nan] + [-v for v in day_5_value[1:]], tickers=list("ABCDEFGHJIK"))
    frame = pd.DataFrame(rows)
    frame["momentum"] = -frame["value"]
    # Shuffled, so that nothing depends on the input being sorted.
    return frame.sample(frac=1.0, random_state=7, ignore_index=True)


def test_hand_computed_ic_quantiles_and_turnover():
    results = factor_analysis(hand_frame(), ["value", "momentum"], quantiles=5, horizon=2, min_names=10)

    daily = results.daily[results.daily["factor"] == "value"].set_index("trade_date")
    # Day 2 (constant factor) and day 3 (nine names) are skipped.
    assert list(daily.index) == [DAY_1, DAY_4, DAY_5]
    assert list(daily["names"]) == [10, 10, 10]

    # Day 1: x = 1..10, y = (2,1,4,3,6,5,8,7,10,9)/100. Sxx = Syy = 82.5 (in units of y*100);
    # sum(x*y) = 2+2+12+12+30+30+56+56+90+90 = 380, n*mean^2 = 10*5.5^2 = 302.5, Sxy = 77.5 -> IC = 31/33.
    # No ties, the ranks are the values themselves: rank IC = 31/33 too (1 - 6*10/990).
    ic_1 = 31 / 33
    # Day 4: x = (5,4,4,4,-7,9,7,6,8,10), mean 5, deviations (0,-1,-1,-1,-12,4,2,1,3,5), Sxx = 202;
    # y = (0,3,-1,1,-2,4,2,-3,-5,1), mean 0, Syy = 70; Sxy = 0-3+1-1+24+16+4-3-15+5 = 28.
    ic_4 = 28 / math.sqrt(202 * 70)
    # Ranks of x: E 1, B/C/D 3 (tie of ranks 2-4), A 5, H 6, G 7, I 8, F 9, J 10; deviations from 5.5:
    # A -.5, B/C/D -2.5, E -4.5, F 3.5, G 1.5, H .5, I 2.5, J 4.5; sum of squares 80.5 (82.5 - (27-3)/12).
    # Ranks of y: I 1, H 2, E 3, C 4, A 5, D/J 6.5, G 8, B 9, F 10; deviations: A -.5, B 3.5, C -1.5, D 1,
    # E -2.5, F 4.5, G 2.5, H -3.5, I -4.5, J 1; sum of squares 82 (82.5 - (8-2)/12).
    # Cross: .25 - 8.75 + 3.75 - 2.5 + 11.25 + 15.75 + 3.75 - 1.75 - 11.25 + 4.5 = 15.
    rank_ic_4 = 15 / math.sqrt(80.5 * 82)
    # Day 5: A is dropped (no return); y = -x exactly, so IC = rank IC = -1.
    np.testing.assert_allclose(daily["ic"], [ic_1, ic_4, -1.0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(daily["rank_ic"], [ic_1, rank_ic_4, -1.0], rtol=0, atol=1e-12)

    # Quantile = floor((r - 1) * 5 / 10) + 1 = floor((r - 1) / 2) + 1.
    # Day 1: {A,B} {C,D} {E,F} {G,H} {I,J}: means of y = 1.5, 3.5, 5.5, 7.5, 9.5 (percent); top - bottom = 8%.
    # Day 4: r = 1 -> 1 (E); r = 3 -> 2 (B,C,D); r = 5, 6 -> 3 (A,H); r = 7, 8 -> 4 (G,I); r = 9, 10 -> 5 (F,J).
    #   Means: E -2; B,C,D (3-1+1)/3 = 1; A,H (0-3)/2 = -1.5; G,I (2-5)/2 = -1.5; F,J (4+1)/2 = 2.5.
    #   Top - bottom = 2.5 - (-2) = 4.5.
    # Day 5: {B,C} {D,E} {F,G} {H,J} {I,K}: means -1.5, -3.5, -5.5, -7.5, -9.5; top - bottom = -8.
    day_means = np.array(
        [
            [0.015, 0.035, 0.055, 0.075, 0.095],
            [-2.0, 1.0, -1.5, -1.5, 2.5],
            [-1.5, -3.5, -5.5, -7.5, -9.5],
        ]
    )
    np.testing.assert_allclose(daily["top_minus_bottom"], [0.08, 4.5, -8.0], rtol=0, atol=1e-12)

    # Top quantile: day 1 {I,J}, day 4 {F,J}, day 5 {I,K}.
    # Turnover against the previous evaluated date (day 3 and day 2 were skipped):
    # day 4 vs day 1: F new, J stayed -> 1/2; day 5 vs day 4: I and K both new -> 1.
    # Over the horizon (2 evaluated dates back): only day 5 vs day 1: K new, I stayed -> 1/2.
    np.testing.assert_allclose(daily["top_turnover"], [np.nan, 0.5, 1.0], rtol=0, atol=1e-12)

    quantile_returns = results.quantile_returns[results.quantile_returns["factor"] == "value"]
    assert list(quantile_returns["quantile"]) == [1, 2, 3, 4, 5]
    np.testing.assert_allclose(quantile_returns["mean_return"], day_means.mean(axis=0), rtol=0, atol=1e-12)
    assert list(quantile_returns["days"]) == [3, 3, 3, 3, 3]

    summary = results.summary.set_index("factor")
    assert list(summary.index) == ["value", "momentum"]  # the order given, not alphabetical
    value = summary.loc["value"]
    ics = np.array([ic_1, ic_4, -1.0])
    rank_ics = np.array([ic_1, rank_ic_4, -1.0])
    assert value["days"] == 3
    assert value["ic_mean"] == pytest.approx(ics.mean(), abs=1e-12)
    assert value["ic_std"] == pytest.approx(ics.std(ddof=1), abs=1e-12)
    assert value["icir"] == pytest.approx(ics.mean() / ics.std(ddof=1), abs=1e-12)
    assert value["ic_t"] == pytest.approx(newey_west_t(ics, lags=1), abs=1e-12)
    assert value["rank_ic_mean"] == pytest.approx(rank_ics.mean(), abs=1e-12)
    assert value["rank_icir"] == pytest.approx(rank_ics.mean() / rank_ics.std(ddof=1), abs=1e-12)
    assert value["rank_ic_t"] == pytest.approx(newey_west_t(rank_ics, lags=1), abs=1e-12)
    assert value["top_minus_bottom"] == pytest.approx((0.08 + 4.5 - 8.0) / 3, abs=1e-12)
    assert value["top_minus_bottom_t"] == pytest.approx(newey_west_t([0.08, 4.5, -8.0], lags=1), abs=1e-12)
    assert value["top_turnover"] == pytest.approx((0.5 + 1.0) / 2, abs=1e-12)
    assert value["top_turnover_horizon"] == pytest.approx(0.5, abs=1e-12)

    # The negated factor has the negated IC and rank IC on every date (average ranks are symmetric).
    momentum = results.daily[results.daily["factor"] == "momentum"]
    np.testing.assert_allclose(momentum["ic"], -daily["ic"].to_numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(momentum["rank_ic"], -daily["rank_ic"].to_numpy(), rtol=0, atol=1e-12)


def test_output_columns_and_order():
    results = factor_analysis(hand_frame(), ["momentum", "value"], horizon=2)
    assert list(results.summary.columns) == SUMMARY_COLUMNS
    assert list(results.daily.columns) == DAILY_COLUMNS
    assert list(results.quantile_returns.columns) == QUANTILE_COLUMNS
    assert list(results.summary["factor"]) == ["momentum", "value"]
    assert list(results.daily["factor"]) == ["momentum"] * 3 + ["value"] * 3
    assert results.daily.groupby("factor", sort=False)["trade_date"].apply(lambda d: d.is_monotonic_increasing).all()
    assert list(results.quantile_returns["factor"]) == ["momentum"] * 5 + ["value"] * 5


def test_newey_west_t_by_hand():
    # x = 1, 2, 3, 6: n = 4, mean 3, deviations -2, -1, 0, 3.
    # gamma_0 = (4 + 1 + 0 + 9) / 4 = 3.5.
    series = [1.0, 2.0, 3.0, 6.0]
    # lags 0: var of mean = 3.5 / 4, the plain t with the population variance.
    assert newey_west_t(series, lags=0) == pytest.approx(3 / math.sqrt(3.5 / 4), abs=1e-12)
    plain = np.mean(series) / (np.std(series, ddof=0) / math.sqrt(len(series)))
    assert newey_west_t(series, lags=0) == pytest.approx(plain, abs=1e-12)
    # lags 1: gamma_1 = ((-1)(-2) + 0(-1) + 3*0) / 4 = 0.5, weight 1 - 1/2;
    # var of mean = (3.5 + 2 * 0.5 * 0.5) / 4 = 1, t = 3 / 1.
    assert newey_west_t(series, lags=1) == pytest.approx(3.0, abs=1e-12)
    # lags 5 is cut to n - 1 = 3: gamma_2 = (0(-2) + 3(-1)) / 4 = -0.75, gamma_3 = 3(-2) / 4 = -1.5;
    # weights 3/4, 1/2, 1/4: 3.5 + 2 * (0.375 - 0.375 - 0.375) = 2.75, var of mean = 2.75 / 4.
    assert newey_west_t(series, lags=5) == pytest.approx(3 / math.sqrt(2.75 / 4), abs=1e-12)
    # NaNs are dropped before anything else.
    assert newey_west_t([1.0, np.nan, 2.0, 3.0, 6.0], lags=1) == pytest.approx(3.0, abs=1e-12)
    assert newey_west_t([5.0, np.nan], lags=0) is None
    assert newey_west_t([2.0, 2.0, 2.0], lags=1) is None
    with pytest.raises(ValueError, match="lags"):
        newey_west_t(series, lags=-1)


def random_frame(days: int, names: int, seed: int) -> pd.DataFrame:
    """An unbalanced panel: about 5% of rows absent, some missing values, a factor with many ties."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2023-01-02", periods=days)
    frame = pd.DataFrame(
        {"trade_date": np.repeat(dates, names), "ticker": np.tile([f"T{i:03d}" for i in range(names)], days)}
    )
    frame = frame[rng.random(len(frame)) > 0.05].reset_index(drop=True)
    n = len(frame)
    frame["fwd_ret_5d"] = rng.standard_normal(n) * 0.02
    frame["smooth"] = rng.standard_normal(n)
    frame["tied"] = rng.integers(0, 3, n).astype(float)  # three values: ties of ~a third of the names a date
    frame.loc[rng.random(n) < 0.1, "smooth"] = np.nan
    frame.loc[rng.random(n) < 0.05, "fwd_ret_5d"] = np.nan
    return frame


def test_ic_and_rank_ic_match_scipy_per_date():
    frame = random_frame(days=30, names=40, seed=3)
    results = factor_analysis(frame, ["smooth", "tied"], min_names=10)
    for factor in ["smooth", "tied"]:
        daily = results.daily[results.daily["factor"] == factor]
        assert len(daily) == 30
        for row in daily.itertuples():
            day = frame[frame["trade_date"] == row.trade_date].dropna(subset=[factor, "fwd_ret_5d"])
            assert row.names == len(day)
            assert row.ic == pytest.approx(pearsonr(day[factor], day["fwd_ret_5d"]).statistic, abs=1e-12)
            assert row.rank_ic == pytest.approx(spearmanr(day[factor], day["fwd_ret_5d"]).statistic, abs=1e-12)


def brute_force(frame: pd.DataFrame, factor: str, quantiles: int, horizon: int) -> pd.DataFrame:
    """A slow, loop-per-date reference for the quantile returns and turnovers (min_names = 2)."""
    tops, rows = [], []
    for date, day in frame.dropna(subset=[factor, "fwd_ret_5d"]).groupby("trade_date"):
        if day[factor].nunique() < 2 or day["fwd_ret_5d"].nunique() < 2:
            continue
        ranks = day[factor].rank(method="average")
        quantile = np.floor((ranks - 1) * quantiles / len(day)).astype(int) + 1
        means = day["fwd_ret_5d"].groupby(quantile).mean().reindex(range(1, quantiles + 1))
        top = set(day.loc[quantile == quantiles, "ticker"])
        turnover = len(top - tops[-1]) / len(top) if tops and top else np.nan
        turnover_horizon = len(top - tops[-horizon]) / len(top) if len(tops) >= horizon and top else np.nan
        tops.append(top)
        rows.append(
            {"trade_date": date, "top_minus_bottom": means[quantiles] - means[1], "top_turnover": turnover}
            | {f"q{q}": means[q] for q in range(1, quantiles + 1)}
            | {"top_turnover_horizon": turnover_horizon}
        )
    return pd.DataFrame(rows)


@pytest.mark.parametrize("factor", ["smooth", "tied"])
def test_quantiles_and_turnover_match_a_loop_over_dates(factor):
    frame = random_frame(days=25, names=30, seed=11)
    quantiles, horizon = 4, 3
    expected = brute_force(frame, factor, quantiles, horizon)
    results = factor_analysis(frame, [factor], quantiles=quantiles, horizon=horizon, min_names=2)
    daily = results.daily
    assert list(daily["trade_date"]) == list(expected["trade_date"])
    np.testing.assert_allclose(daily["top_minus_bottom"], expected["top_minus_bottom"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(daily["top_turnover"], expected["top_turnover"], rtol=0, atol=1e-12)
    summary = results.summary.iloc[0]
    assert summary["top_turnover_horizon"] == pytest.approx(expected["top_turnover_horizon"].mean(), abs=1e-12)
    quantile_means = expected[[f"q{q}" for q in range(1, quantiles + 1)]]
    np.testing.assert_allclose(results.quantile_returns["mean_return"], quantile_means.mean(), rtol=0, atol=1e-12)
    assert list(results.quantile_returns["days"]) == list(quantile_means.notna().sum())
    if factor == "tied":
        # Three tie groups for four quantiles: some quantile is empty on some date, or the ties were not shared.
        assert quantile_means.isna().to_numpy().any()


def test_a_predictive_factor_is_found_and_noise_is_not():
    rng = np.random.default_rng(2024)
    days, names = 120, 60
    frame = pd.DataFrame(
        {
            "trade_date": np.repeat(pd.bdate_range("2022-01-03", periods=days), names),
            "ticker": np.tile(np.arange(names), days),
        }
    )
    frame["fwd_ret_5d"] = rng.standard_normal(len(frame)) * 0.02
    frame["signal"] = frame["fwd_ret_5d"] + rng.standard_normal(len(frame)) * 0.05
    frame["noise"] = rng.standard_normal(len(frame))
    summary = factor_analysis(frame, ["signal", "noise"]).summary.set_index("factor")

    signal = summary.loc["signal"]
    assert signal["days"] == days
    assert signal["ic_mean"] > 0 and signal["rank_ic_mean"] > 0
    assert signal["ic_t"] > 3 and signal["rank_ic_t"] > 3
    assert signal["top_minus_bottom"] > 0 and signal["top_minus_bottom_t"] > 3
    assert abs(summary.loc["noise", "rank_ic_t"]) < 3
    assert abs(summary.loc["noise", "ic_t"]) < 3
    # With no persistence the top fifth is redrawn every day: about 80% of it is new.
    assert summary.loc["noise", "top_turnover"] == pytest.approx(0.8, abs=0.05)


def test_skipped_dates_and_a_factor_never_evaluated():
    frame = random_frame(days=6, names=20, seed=5)
    first, second, third = sorted(frame["trade_date"].unique())[:3]
    frame.loc[frame["trade_date"] == first, "smooth"] = 1.5  # constant factor on the first date
    frame = frame[~((frame["trade_date"] == second) & (frame["ticker"] > "T007"))]  # eight names on the second
    frame.loc[frame["trade_date"] == third, "fwd_ret_5d"] = 0.01  # constant return on the third
    frame["empty"] = np.nan
    results = factor_analysis(frame, ["smooth", "empty"], min_names=10)

    dates = set(results.daily.loc[results.daily["factor"] == "smooth", "trade_date"])
    assert len(dates) == 3
    assert not dates & {first, second, third}

    empty = results.summary.set_index("factor").loc["empty"]
    assert empty["days"] == 0
    assert empty.drop("days").isna().all()
    assert (results.daily["factor"] != "empty").all()
    empty_quantiles = results.quantile_returns[results.quantile_returns["factor"] == "empty"]
    assert list(empty_quantiles["days"]) == [0] * 5
    assert empty_quantiles["mean_return"].isna().all()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"factors": ["smooth", "not_a_factor"]}, "not_a_factor"),
        ({"factors": ["smooth"], "return_column": "fwd_ret_20d"}, "fwd_ret_20d"),
        ({"factors": ["smooth"], "date_column": "as_of"}, "as_of"),
        ({"factors": ["smooth"], "ticker_column": "symbol"}, "symbol"),
        ({"factors": ["smooth"], "quantiles": 1}, "quantiles"),
        ({"factors": ["smooth"], "horizon": 0}, "horizon"),
        ({"factors": ["smooth", "smooth"]}, "more than once"),
    ],
)
def test_bad_arguments_raise_value_error(arguments, message):
    frame = random_frame(days=3, names=12, seed=1)
    with pytest.raises(ValueError, match=message):
        factor_analysis(frame, **arguments)


def test_duplicate_rows_raise_value_error():
    frame = random_frame(days=3, names=12, seed=1)
    with pytest.raises(ValueError, match="more than one row"):
        factor_analysis(pd.concat([frame, frame.head(1)]), ["smooth"])

"""`python -m ml.backtest` end to end on the two trained synthetic markets of conftest.py.

Known answers: with the planted close-location signal, the volume-flow scores built on close location
(A/D, IFI, SMI, OBV) show a positive pooled edge and the model's probability ranks stocks; without it,
no score's pooled edge is significant and the model's rank IC is not either. Plus: the backtest touches
the test window only, every table is stored under the run id, the report is written, errors are one line.
"""

from __future__ import annotations

import shutil

import duckdb
import numpy as np
import pandas as pd
import pytest
from helpers import one_line_error, read, read_job, run_module

from ml.backtest.analysis import run_edge_analysis
from ml.backtest.report import render_report
from ml.backtest.results import EdgeSettings
from ml.backtest.statistics import reliability_table
from store import connect

pytestmark = pytest.mark.slow

CLOSE_LOCATION_SCORES = ("ad_score", "ifi_score", "smi_score", "obv_score")
VOLUME_FLOW_SCORES = (*CLOSE_LOCATION_SCORES, "vroc_score")


@pytest.fixture(scope="module")
def null_analysis(null_run):
    db_path, summary = null_run
    return read_job(run_edge_analysis, db_path, model_id=summary.model_id)


@pytest.fixture(scope="module")
def signal_analysis(signal_run):
    db_path, summary = signal_run
    return read_job(run_edge_analysis, db_path, model_id=summary.model_id)


def test_the_planted_signal_shows_a_positive_edge(signal_analysis):
    edge = signal_analysis.signal_edge.set_index("score_name")
    print(edge[["edge", "t_stat", "share_tickers_positive"]])
    for score in CLOSE_LOCATION_SCORES:
        assert edge.loc[score, "edge"] > 0, score
        assert edge.loc[score, "t_stat"] > 2, score
        assert edge.loc[score, "share_tickers_positive"] > 0.5, score


def test_the_planted_signal_is_in_the_models_ranking_and_its_backtest(signal_analysis):
    model = signal_analysis.factors["model"].summary.set_index("factor").loc["model_probability"]
    assert model["rank_ic_mean"] > 0 and model["rank_ic_t"] > 2
    assert model["top_minus_bottom"] > 0
    summary = signal_analysis.summary.set_index("portfolio")
    assert summary.loc["strategy_gross", "cumulative_return"] > summary.loc["benchmark", "cumulative_return"]
    clv = signal_analysis.factors["features_full"].summary.set_index("factor").loc["clv"]
    assert clv["rank_ic_mean"] > 0 and clv["rank_ic_t"] > 2


def test_without_a_signal_no_pooled_edge_is_significant(null_analysis):
    edge = null_analysis.signal_edge.set_index("score_name")
    print(edge[["edge", "t_stat", "share_tickers_positive"]])
    assert set(edge.index) == set(VOLUME_FLOW_SCORES)
    assert (edge["t_stat"].abs() < 2).all()
    verdicts = {v.question: v for v in null_analysis.verdicts}
    for score in VOLUME_FLOW_SCORES:
        assert verdicts[f"{score} > 70: edge > 1% on 5-day returns"].answer is False


def test_without_a_signal_the_model_does_not_rank_stocks(null_analysis):
    """Under no signal the rank IC's t is about N(0, 1): |t| >= 3 would happen by chance 0.3% of the time."""
    model = null_analysis.factors["model"].summary.set_index("factor").loc["model_probability"]
    print(f"signal 0: rank IC {model['rank_ic_mean']:.4f}, t {model['rank_ic_t']:.2f}")
    assert abs(model["rank_ic_t"]) < 3


def test_the_backtest_trades_the_test_window_only(null_run, null_analysis):
    _, summary = null_run
    first, last = pd.Timestamp(summary.splits["test"]["first_date"]), pd.Timestamp(summary.splits["test"]["last_date"])
    for result in (null_analysis.strategy, null_analysis.benchmark):
        signal_dates = pd.to_datetime(result.tranches["signal_date"])
        assert signal_dates.min() == first and signal_dates.max() == last
        daily_dates = pd.to_datetime(result.daily["trade_date"])
        assert daily_dates.min() == first
        assert (daily_dates > last).sum() == 5  # the last sleeve sells 5 trading dates after the last signal
    model_dates = pd.to_datetime(null_analysis.factors["model"].daily["trade_date"])
    assert model_dates.min() >= first and model_dates.max() <= last


def test_costs_are_the_gap_between_gross_and_net(null_analysis):
    net, gross = null_analysis.strategy.daily, null_analysis.strategy_gross.daily
    assert (net["cost"] > 0).any()
    assert np.allclose(net["net_return"], net["gross_return"] - net["cost"], atol=1e-15)
    assert net["nav_net"].iloc[-1] < gross["nav_net"].iloc[-1]
    # On the first day one sleeve (1/5 of the capital) buys: cost = 10 bps x 1/5.
    assert net["cost"].iloc[0] == pytest.approx(10 / 10_000 / 5, rel=1e-12)


@pytest.mark.parametrize("store", ["null_analysis", "signal_analysis"])
def test_the_top_decile_holds_a_tenth_of_the_names_or_more_on_ties(store, request):
    analysis = request.getfixturevalue(store)
    names = analysis.strategy.tranches["names"]
    universe = analysis.benchmark.tranches["names"]
    # Every name tied at the cut is bought (ml.backtest.portfolio; tested there on known cases), so a day holds at least
    # a tenth of the names and at most all of them.
    assert (names >= np.ceil(0.1 * universe)).all()
    assert (names <= universe).all()


def test_a_model_that_ranks_stocks_holds_a_tenth_of_the_names(signal_analysis):
    # With the planted signal the model ranks stocks within a day, so ties are rare and the decile is a tenth.
    # (Without a signal the stored model can give every stock of a day one probability, so the "decile" is the
    # whole universe on such days: the ranking problem of issue 11, item 1, which per-day features address.)
    names = signal_analysis.strategy.tranches["names"]
    universe = signal_analysis.benchmark.tranches["names"]
    assert (names / universe).median() == pytest.approx(0.1, abs=0.02)


def test_reliability_bins_by_hand():
    # 6 predictions in 3 equal-count bins: (0.1, 0.2) -> outcomes (0, 0); (0.3, 0.4) -> (1, 0); (0.5, 0.9) -> (1, 1).
    table = reliability_table(np.array([0.5, 0.1, 0.9, 0.3, 0.2, 0.4]), np.array([1, 0, 1, 1, 0, 0]), n_bins=3)
    assert table["rows"].tolist() == [2, 2, 2]
    assert np.allclose(table["mean_predicted"], [0.15, 0.35, 0.7], atol=1e-15)
    assert np.allclose(table["observed_rate"], [0.0, 0.5, 1.0], atol=1e-15)


def test_the_cli_stores_every_table_and_writes_the_report(small_trained_store, tmp_path):
    db_path = tmp_path / "store.duckdb"
    shutil.copyfile(small_trained_store[0], db_path)
    summary = small_trained_store[1]
    report = tmp_path / "edge.html"
    args = ("ml.backtest", "--db", str(db_path), "--model-id", summary.model_id, "--report", str(report))
    result = run_module(*args, "--cost-bps", "5")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Validation AUC > 0.55" in result.stdout and str(report) in result.stdout
    runs = read(db_path, "select * from analysis.runs where model_id = ? order by created_at", summary.model_id)
    run_id = runs["run_id"].iloc[-1]
    assert runs["cost_bps"].iloc[-1] == 5 and runs["report_path"].iloc[-1] == str(report)
    counts = {
        table: read(db_path, f"select count(*) as n from analysis.{table} where run_id = ?", run_id)["n"].item()
        for table in ("verdicts", "signal_edge", "backtest_summary", "reliability")
    }
    assert counts["verdicts"] == 5 + 2 + 1 + 1
    assert counts["signal_edge"] == 5
    factor_sets = read(
        db_path, "select factor_set, count(*) as n from analysis.factor_summary where run_id = ? group by all", run_id
    )
    assert dict(zip(factor_sets["factor_set"], factor_sets["n"], strict=True)) == {
        "features_full": 49,  # every stock-level feature of the contract (the model's inputs but the ranks)
        "features_test": 49,
        "model": 2,  # calibrated probability and raw score
    }
    assert counts["backtest_summary"] == 3
    assert counts["reliability"] == 20
    portfolios = read(db_path, "select distinct portfolio from analysis.backtest_daily where run_id = ?", run_id)
    assert set(portfolios["portfolio"]) == {"strategy_net", "strategy_gross", "benchmark"}
    page = report.read_text()
    assert page.count("<svg") >= 6
    assert "Do the signals predict 5-day returns?" in page and run_id in page

    again = run_module(*args)
    assert again.returncode == 0, again.stderr[-3000:]
    runs = read(db_path, "select count(*) as n from analysis.runs where model_id = ?", summary.model_id)
    assert runs["n"].item() == 2  # runs are kept, each under its own id


def test_settings_out_of_range_are_refused():
    with pytest.raises(ValueError, match="top-fraction"):
        EdgeSettings(top_fraction=0)
    with pytest.raises(ValueError, match="cost-bps"):
        EdgeSettings(cost_bps=-1)


def test_a_store_without_a_model_is_one_clear_line(tmp_path):
    db_path = tmp_path / "empty.duckdb"
    duckdb.connect(str(db_path)).close()
    line = one_line_error(run_module("ml.backtest", "--db", str(db_path), "--report", str(tmp_path / "r.html")))
    assert "python -m ml.train" in line
    missing = one_line_error(run_module("ml.backtest", "--db", str(tmp_path / "nothing.duckdb")))
    assert "does not exist" in missing


def test_a_locked_store_is_one_clear_line(small_trained_store, tmp_path):
    db_path = tmp_path / "store.duckdb"
    shutil.copyfile(small_trained_store[0], db_path)
    holder = connect(db_path)
    try:  # the command in a process of its own: the lock is another process's, as a user meets it
        arguments = ("ml.backtest", "--db", str(db_path), "--report", str(tmp_path / "r.html"))
        line = one_line_error(run_module(*arguments, own_process=True))
    finally:
        holder.close()
    assert "lock" in line.lower() or "in use" in line.lower()


def test_a_mart_changed_since_training_is_flagged(small_trained_store, tmp_path):
    db_path, summary = small_trained_store
    assert read_job(run_edge_analysis, db_path, model_id=summary.model_id).model_data_matches
    changed = tmp_path / "changed.duckdb"
    shutil.copy(db_path, changed)
    with duckdb.connect(str(changed)) as connection:
        connection.execute(
            "delete from marts.fct_training_examples where trade_date = (select min(trade_date) from "
            "marts.fct_training_examples)"
        )
    analysis = read_job(run_edge_analysis, changed, model_id=summary.model_id)
    assert not analysis.model_data_matches
    assert "changed since this model was trained" in render_report(analysis, str(changed))

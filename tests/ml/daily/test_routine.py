"""One day of the routine (ml/daily/routine.py): scoring a day as the training mart would, idempotent
re-runs, outcomes matched only once their label is known, and a live calibrator per day that reproduces the
day's calibrated probabilities."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest
from daily_helpers import calibration_end, feature_days
from helpers import read, run_job
from sklearn.metrics import roc_auc_score

from ml.daily import drift, live_calibration
from ml.daily.live_calibration import live_calibrator
from ml.daily.routine import ModelCache, run_day
from ml.errors import MLError
from ml.train.data import REGIME
from ml.train.registry import load_trained_model

pytestmark = pytest.mark.slow


def test_a_day_is_scored_as_the_training_mart_would_and_a_rerun_replaces_it(small_trained_store, daily_store):
    summary = small_trained_store[1]
    day = feature_days(daily_store, calibration_end(summary))[10]
    first = run_job(run_day, daily_store, day)
    stored = read(daily_store, "select * from ml.predictions order by ticker")
    again = run_job(run_day, daily_store, day)

    names = read(daily_store, "select count(*) as n from marts.fct_features where trade_date = ?", day)["n"].item()
    assert first.scored == again.scored == len(stored) == names > 30  # 30 equities and the sector ETFs
    rerun = read(daily_store, "select * from ml.predictions order by ticker")
    pd.testing.assert_frame_equal(rerun.drop(columns="scored_at"), stored.drop(columns="scored_at"))
    assert read(daily_store, "select count(*) as n from ml.daily_runs")["n"].item() == 1
    assert read(daily_store, "select count(*) as n from ml.live_calibration")["n"].item() == 1
    assert sorted(stored["rank_in_day"]) == list(range(1, names + 1))
    by_rank = stored.sort_values("rank_in_day")["calibrated_probability"].to_numpy()
    assert np.all(np.diff(by_rank) <= 0)
    # The client's point-in-time rows give the raw probabilities the model gives the training mart's rows.
    model = run_job(load_trained_model, daily_store, summary.model_id)
    mart = read(daily_store, "select * from marts.fct_training_examples where trade_date = ? order by ticker", day)
    assert len(mart) == names
    expected = model.predict_proba(mart[[*model.features, REGIME]], calibrated=False)
    np.testing.assert_allclose(stored["raw_probability"].to_numpy(), expected, rtol=0, atol=1e-12)
    assert (stored["regime_id"].to_numpy() == mart[REGIME].to_numpy()).all()


def test_outcomes_are_matched_once_their_label_is_known_and_each_days_calibrator_is_kept(
    small_trained_store, daily_store, monkeypatch
):
    # Small live settings, so that the 30-stock store refits its live calibrator within a few weeks.
    monkeypatch.setattr(live_calibration, "LIVE_WINDOW", 300)
    monkeypatch.setattr(live_calibration, "LIVE_MIN_SAMPLES", 60)
    monkeypatch.setattr(live_calibration, "LIVE_REFIT_EVERY", 30)
    summary = small_trained_store[1]
    days = feature_days(daily_store, calibration_end(summary))[:16]
    models = ModelCache()
    results = []
    for day in days:
        results.append(run_job(run_day, daily_store, day, models=models))
        predictions = read(daily_store, "select * from ml.predictions")
        labels = read(
            daily_store,
            "select ticker, trade_date, label_beats_median_5d as label, label_beats_median_known_date as known, "
            "fwd_ret_5d from marts.fct_labels",
        )
        joined = predictions.merge(labels, on=["ticker", "trade_date"], how="left")
        resolved = joined[joined["resolved_on"].notna()]
        waiting = joined[joined["resolved_on"].isna()]
        # Resolved: on or after the day the label was known, with the label and return of the mart.
        assert (pd.to_datetime(resolved["label_known_date"]) <= pd.Timestamp(day)).all()
        assert (resolved["outcome"].astype(int) == resolved["label"].astype(int)).all()
        np.testing.assert_array_equal(resolved["outcome_return"], resolved["fwd_ret_5d"])
        # Waiting: the label was not known by the day.
        not_known = waiting["label"].isna() | (pd.to_datetime(waiting["known"]) > pd.Timestamp(day))
        assert not_known.all()
    assert sum(result.resolved for result in results) > 150
    assert results[0].resolved == 0

    # Each day's stored calibrator (settings and map, window and pending rebuilt from the predictions)
    # calibrates that day's raw probabilities to exactly what was stored.
    refits = 0
    for day in days:
        calibrator = run_job(live_calibrator, daily_store, summary.model_id, day)
        day_rows = read(
            daily_store, "select raw_probability, calibrated_probability from ml.predictions where trade_date = ?", day
        )
        np.testing.assert_array_equal(
            calibrator.calibrate(day_rows["raw_probability"].to_numpy()), day_rows["calibrated_probability"]
        )
        refits = calibrator.n_automatic_fits
    assert refits >= 3
    total = np.cumsum([result.resolved for result in results])
    state = read(daily_store, "select * from ml.live_calibration order by as_of_date")
    assert state["refitted"].sum() >= 3
    assert state["window_rows"].tolist() == np.minimum(total, 300).tolist()
    assert state["resolved_total"].tolist() == total.tolist()
    # Each day's drift check: one row per model feature, the run's share and verdict agree with the rows.
    checks = read(daily_store, "select * from ml.drift_checks")
    assert len(checks) == len(days) * len(summary.selected_features)
    assert (checks["drifted"] == ((checks["psi"] > checks["threshold"]) | checks["psi"].isna())).all()
    assert (checks["threshold"] >= drift.PSI_THRESHOLD).all()
    runs = read(daily_store, "select run_date, drifted_share, drift_triggered from ml.daily_runs order by run_date")
    shares = checks.groupby("as_of_date")["drifted"].mean()
    np.testing.assert_allclose(runs["drifted_share"], shares.to_numpy())
    assert (runs["drift_triggered"] == (runs["drifted_share"] >= drift.TRIGGER_SHARE)).all()
    performance = read(daily_store, "select * from ml.live_performance order by as_of_date")
    assert len(performance) == int((total > 0).sum())  # a day with no outcome known yet has no performance row
    assert performance["rows"].tolist() == total[total > 0].tolist()  # the 60-day window holds them all
    assert performance["auc"].between(0, 1).all() and performance["top_decile_hit_rate"].between(0, 1).all()


def test_a_prediction_whose_label_can_never_be_known_is_void_and_leaves_the_calibrator(
    small_trained_store, daily_store
):
    summary = small_trained_store[1]
    days = feature_days(daily_store, calibration_end(summary))
    first = days[0]
    tickers = read(daily_store, "select ticker from marts.fct_labels where trade_date = ? order by ticker", first)
    gap, gone = tickers["ticker"].iloc[0], tickers["ticker"].iloc[1]
    with duckdb.connect(str(daily_store)) as connection:
        # `gap`: its label is known to be NULL (the gap rule); `gone`: the ticker's next prices never came.
        connection.execute(
            "update marts.fct_labels set label_beats_median_5d = null where ticker = ? and trade_date = ?", [gap, first]
        )
        connection.execute(
            "update marts.fct_labels set fwd_ret_5d = null, label_up_5d = null, label_known_date = null, "
            "label_beats_median_5d = null, label_beats_median_known_date = null where ticker = ? and trade_date = ?",
            [gone, first],
        )
    known = read(
        daily_store,
        "select label_beats_median_known_date as known from marts.fct_labels where ticker = ? and trade_date = ?",
        gap,
        first,
    )["known"].item()
    models = ModelCache()
    for day in days:
        run_job(run_day, daily_store, day, models=models)
        if (day - first).days > 16:
            break
    rows = read(daily_store, "select * from ml.predictions where trade_date = ? order by ticker", first).set_index(
        "ticker"
    )
    assert rows.loc[gap, "voided_on"] == pd.Timestamp(min(d for d in days if d >= pd.Timestamp(known).date()))
    assert rows.loc[gone, "voided_on"] == pd.Timestamp(min(d for d in days if (d - first).days > 15))
    assert rows.loc[[gap, gone], "resolved_on"].isna().all() and rows.loc[[gap, gone], "outcome"].isna().all()
    others = rows.drop(index=[gap, gone])
    assert others["resolved_on"].notna().all() and others["voided_on"].isna().all()
    # Neither waits in the live calibrator any more, and the stored state agrees with the rebuilt one.
    calibrator = run_job(live_calibrator, daily_store, summary.model_id, day)
    assert not {rows.loc[gap, "observation_id"], rows.loc[gone, "observation_id"]} & set(calibrator.pending)
    stored = read(daily_store, "select pending_rows from ml.live_calibration where as_of_date = ?", day)
    assert stored["pending_rows"].item() == len(calibrator.pending)
    waiting = read(
        daily_store, "select count(*) as n from ml.predictions where resolved_on is null and voided_on is null"
    )
    assert waiting["n"].item() == len(calibrator.pending)


def test_a_day_in_the_models_sample_or_before_the_last_run_is_refused(small_trained_store, daily_store):
    summary = small_trained_store[1]
    with pytest.raises(MLError, match="in its sample"):
        run_job(run_day, daily_store, calibration_end(summary))
    days = feature_days(daily_store, calibration_end(summary))
    run_job(run_day, daily_store, days[3])
    with pytest.raises(MLError, match="before the last day scored"):
        run_job(run_day, daily_store, days[2])


def test_the_live_log_of_the_test_window_gives_back_the_models_test_auc(small_trained_store, daily_store):
    """Day by day over the model's whole test window (and until the store ends), the predictions resolved by
    the last day are the test split's rows, and their AUC is the test AUC training stored."""
    summary = small_trained_store[1]
    models = ModelCache()
    for day in feature_days(daily_store, calibration_end(summary)):
        run_job(run_day, daily_store, day, models=models)
    resolved = read(
        daily_store,
        "select calibrated_probability as p, outcome as y from ml.predictions "
        "where outcome is not null and trade_date >= ?",
        summary.splits["test"]["first_date"],
    )
    assert len(resolved) == summary.metrics["test"]["rows"]
    assert roc_auc_score(resolved["y"], resolved["p"]) == pytest.approx(summary.metrics["test"]["auc"], abs=1e-12)

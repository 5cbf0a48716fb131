"""FeatureSelector: empty/constant columns out, the less important of a correlated pair out, top n kept."""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pytest
import sklearn.exceptions
from sklearn.base import clone

from ml.errors import InvalidInputError, MissingFeaturesError, NotFittedError, StateError
from ml.estimators.selection import FeatureSelector


def make_data(n_rows: int = 3000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """`signal` decides the label, `signal_copy` is a noisy copy of it (|corr| > 0.95), `weak` helps a little,
    `noise_*` are independent, `empty` is all NaN and `flat` is constant."""
    rng = np.random.default_rng(seed)
    signal = rng.standard_normal(n_rows)
    weak = rng.standard_normal(n_rows)
    y = (signal + 0.3 * weak + 0.2 * rng.standard_normal(n_rows) > 0).astype(int)
    frame = pd.DataFrame(
        {
            "noise_0": rng.standard_normal(n_rows),
            "signal_copy": signal + 0.25 * rng.standard_normal(n_rows),
            "weak": weak,
            "signal": signal,
            "empty": np.full(n_rows, np.nan),
            "noise_1": rng.standard_normal(n_rows),
            "flat": np.ones(n_rows),
            "noise_2": rng.standard_normal(n_rows),
        }
    )
    # Missing values in a useful column: the forest must handle them without imputation.
    frame.loc[rng.random(n_rows) < 0.1, "weak"] = np.nan
    return frame, y


def test_drops_the_less_important_of_a_correlated_pair() -> None:
    X, y = make_data()
    assert X["signal"].corr(X["signal_copy"], method="spearman") > 0.95

    selector = FeatureSelector(n_features=3, random_state=0).fit(X, y)

    assert selector.importances_.index[0] == "signal"
    assert selector.importances_["signal"] > selector.importances_["signal_copy"]
    assert "signal" in selector.selected_features_
    assert "signal_copy" not in selector.selected_features_
    assert selector.dropped_correlated_ == {"signal_copy": "signal"}
    assert selector.selected_features_[:2] == ["signal", "weak"]


def test_keeps_n_features_and_reports_the_rest() -> None:
    X, y = make_data()

    selector = FeatureSelector(n_features=3, random_state=0).fit(X, y)

    assert len(selector.selected_features_) == 3
    # Every usable column ends up in exactly one place.
    accounted = (
        set(selector.selected_features_)
        | set(selector.dropped_correlated_)
        | set(selector.dropped_low_importance_)
        | set(selector.dropped_all_null_)
        | set(selector.dropped_constant_)
    )
    assert accounted == set(X.columns)
    assert len(selector.dropped_low_importance_) == 6 - 3 - 1
    # Selected columns come first in importance order.
    ranked = list(selector.importances_.index)
    assert [ranked.index(c) for c in selector.selected_features_] == sorted(
        ranked.index(c) for c in selector.selected_features_
    )


def test_keeps_every_survivor_when_n_features_is_larger() -> None:
    X, y = make_data()

    selector = FeatureSelector(n_features=50, random_state=0).fit(X, y)

    assert sorted(selector.selected_features_) == ["noise_0", "noise_1", "noise_2", "signal", "weak"]
    assert selector.dropped_low_importance_ == []


def test_drops_all_null_and_constant_columns_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    X, y = make_data()

    with caplog.at_level(logging.INFO, logger="ml.estimators.selection"):
        selector = FeatureSelector(n_features=10, random_state=0).fit(X, y)

    assert selector.dropped_all_null_ == ["empty"]
    assert selector.dropped_constant_ == ["flat"]
    assert "empty" not in selector.importances_.index
    assert "flat" not in selector.importances_.index
    assert "empty" not in selector.selected_features_
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("NULL" in message and "empty" in message for message in warnings)
    assert any("constant" in message and "flat" in message for message in warnings)


def test_is_deterministic_for_a_random_state() -> None:
    X, y = make_data(n_rows=4000)

    # max_samples below the row count also exercises the seeded row subsample.
    first = FeatureSelector(n_features=4, random_state=11, max_samples=1500, n_estimators=50).fit(X, y)
    second = FeatureSelector(n_features=4, random_state=11, max_samples=1500, n_estimators=50).fit(X, y)
    other = FeatureSelector(n_features=4, random_state=12, max_samples=1500, n_estimators=50).fit(X, y)

    pd.testing.assert_series_equal(first.importances_, second.importances_)
    assert first.selected_features_ == second.selected_features_
    assert not np.allclose(first.importances_.sort_index(), other.importances_.sort_index())


def test_transform_returns_the_selected_columns_in_order() -> None:
    X, y = make_data()
    selector = FeatureSelector(n_features=3, random_state=0)

    out = selector.fit_transform(X, y)

    assert list(out.columns) == selector.selected_features_
    pd.testing.assert_frame_equal(out, X[selector.selected_features_])
    # Extra columns are ignored, order follows the fit.
    shuffled = X[list(reversed(X.columns))].assign(extra=1.0)
    assert list(selector.transform(shuffled).columns) == selector.selected_features_
    assert list(selector.get_feature_names_out()) == selector.selected_features_


def test_transform_names_missing_columns() -> None:
    X, y = make_data()
    selector = FeatureSelector(n_features=3, random_state=0).fit(X, y)

    with pytest.raises(MissingFeaturesError, match="signal") as caught:
        selector.transform(X.drop(columns=["signal"]))
    assert caught.value.missing == ["signal"]


def test_unfitted_use_raises_not_fitted_error() -> None:
    X, _ = make_data(n_rows=50)
    selector = FeatureSelector()

    with pytest.raises(NotFittedError, match="fit"):
        selector.transform(X)
    # It is also scikit-learn's NotFittedError, so scikit-learn's tooling recognises it.
    with pytest.raises(sklearn.exceptions.NotFittedError):
        selector.get_feature_names_out()


def test_init_only_stores_parameters() -> None:
    selector = FeatureSelector(correlation_threshold=0.7, n_features=5, random_state=3)

    assert clone(selector).get_params() == selector.get_params()
    assert not [name for name in vars(selector) if name.endswith("_")]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda X, y: (X.assign(ticker="AAA"), y), "non-numeric"),
        (lambda X, y: (X.to_numpy(), y), "DataFrame"),
        (lambda X, y: (X, y[:-1]), "one label per row"),
        (lambda X, y: (X, np.zeros(len(y))), "single class"),
    ],
)
def test_rejects_bad_input_with_a_clear_message(change, message: str) -> None:
    X, y = make_data(n_rows=200)
    bad_X, bad_y = change(X, y)

    with pytest.raises(InvalidInputError, match=message):
        FeatureSelector(n_estimators=10, random_state=0).fit(bad_X, bad_y)


def test_get_selected_features_lists_the_kept_columns_best_first() -> None:
    X, y = make_data()
    selector = FeatureSelector(n_features=3, random_state=0).fit(X, y)

    selected = selector.get_selected_features()

    assert selected == selector.selected_features_ == ["signal", "weak", selected[2]]
    ranked = list(selector.importances_.index)
    assert [ranked.index(c) for c in selected] == sorted(ranked.index(c) for c in selected)
    selected.append("changed")  # a copy: the fitted selection is untouched
    assert len(selector.get_selected_features()) == 3
    with pytest.raises(NotFittedError, match="selected features"):
        FeatureSelector().get_selected_features()


def test_save_and_load_give_identical_outputs(tmp_path) -> None:
    X, y = make_data()
    # A column with two values only: its correlations need three shared rows, so they are NaN (null in JSON).
    X["sparse"] = np.nan
    X.loc[[0, 1], "sparse"] = [1.0, 2.0]
    selector = FeatureSelector(n_features=4, random_state=0, n_estimators=50).fit(X, y)
    assert selector.correlation_["sparse"].drop("sparse").isna().all()

    path = selector.save(tmp_path / "models" / "feature_selector_fitted.json")
    text = path.read_text()
    loaded = FeatureSelector.load(path)

    assert "NaN" not in text and "null" in text
    assert loaded.get_params() == selector.get_params()
    pd.testing.assert_frame_equal(loaded.transform(X), selector.transform(X))
    assert loaded.get_selected_features() == selector.get_selected_features()
    assert list(loaded.get_feature_names_out()) == list(selector.get_feature_names_out())
    pd.testing.assert_series_equal(loaded.importances_, selector.importances_)
    pd.testing.assert_frame_equal(loaded.correlation_, selector.correlation_)
    assert list(loaded.feature_names_in_) == list(selector.feature_names_in_)
    assert loaded.n_features_in_ == selector.n_features_in_
    for name in ("dropped_all_null_", "dropped_constant_", "dropped_correlated_", "dropped_low_importance_"):
        assert getattr(loaded, name) == getattr(selector, name)
    assert FeatureSelector.from_dict(json.loads(text)).get_selected_features() == selector.get_selected_features()


def test_saving_needs_a_fit_and_a_json_path(tmp_path) -> None:
    X, y = make_data(n_rows=300)
    with pytest.raises(NotFittedError, match="save it"):
        FeatureSelector().save(tmp_path / "selector.json")
    selector = FeatureSelector(n_features=3, n_estimators=10, random_state=0).fit(X, y)
    with pytest.raises(InvalidInputError, match="never pickle"):
        selector.save(tmp_path / "selector.pkl")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(StateError, match="FeatureSelector.to_dict"):
        FeatureSelector.from_dict({"format": "DriftDetector/1"})
    state = selector.to_dict()
    del state["selected_features"]
    with pytest.raises(StateError, match="selected_features"):
        FeatureSelector.from_dict(state)

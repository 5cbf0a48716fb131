"""The label horizon is one dbt var (label_horizon_days): fct_labels, marts.dim_labels (how Python reads it)
and the signal edge's default horizon all follow it, and a bad value stops the build at compile time."""

from __future__ import annotations

import shutil

import pytest
from helpers import read, run_dbt

pytestmark = pytest.mark.slow

LABELS = ["fwd_ret_5d", "label_beats_median_5d", "label_up_5d"]


def label_rows_ahead(db_path) -> set[int]:
    """How many of the ticker's rows separate trade_date from label_known_date in fct_labels."""
    ahead = read(
        db_path,
        """
        select distinct known.ticker_row - today.ticker_row as rows_ahead
        from marts.fct_labels as labels
        inner join intermediate.int_prices__sequenced as today using (ticker, trade_date)
        inner join intermediate.int_prices__sequenced as known
            on labels.ticker = known.ticker and labels.label_known_date = known.trade_date
        """,
    )
    return set(ahead["rows_ahead"])


def test_dim_labels_tells_python_the_label_horizon(synthetic_store):
    types = read(
        synthetic_store,
        "select column_name, data_type from information_schema.columns "
        "where table_schema = 'marts' and table_name = 'dim_labels' order by ordinal_position",
    )
    assert list(types.itertuples(index=False, name=None)) == [
        ("label_name", "VARCHAR"),
        ("horizon_days", "INTEGER"),
        ("max_calendar_days", "INTEGER"),
        ("definition", "VARCHAR"),
    ]
    labels = read(synthetic_store, "select * from marts.dim_labels order by label_name").set_index("label_name")
    assert list(labels.index) == LABELS
    assert (labels["horizon_days"] == 5).all()
    assert labels["definition"].str.len().gt(40).all()
    # The query ml/ runs, and the labels it describes.
    python_query = "select horizon_days from marts.dim_labels where label_name = 'label_up_5d'"
    assert read(synthetic_store, python_query)["horizon_days"].tolist() == [5]
    label_columns = read(
        synthetic_store,
        "select column_name from information_schema.columns where table_schema = 'marts' and table_name = 'fct_labels'",
    )["column_name"]
    assert set(LABELS) <= set(label_columns)
    assert label_rows_ahead(synthetic_store) == {5}


def test_one_var_moves_the_labels_dim_labels_and_the_signal_edge_together(synthetic_store, tmp_path):
    db_path = tmp_path / "store.duckdb"
    shutil.copy(synthetic_store, db_path)
    # --full-refresh: the copy's marts are built, and an incremental build would only redo the last rows.
    # fct_training_examples too: with h = 3 more labels are known, and the coverage data tests want them there.
    selection = [
        "int_prices__refresh_window",
        "fct_labels",
        "fct_training_examples",
        "dim_labels",
        "fct_signal_edge_observations+",
    ]
    result = run_dbt(
        db_path, tmp_path, "build", "--full-refresh", "-s", *selection, "--vars", "{label_horizon_days: 3}"
    )
    assert result.returncode == 0, result.stdout[-4000:]
    assert read(db_path, "select distinct horizon_days from marts.dim_labels")["horizon_days"].tolist() == [3]
    assert label_rows_ahead(db_path) == {3}
    edge = read(db_path, "select distinct horizon_days from marts.fct_signal_edge")
    assert edge["horizon_days"].tolist() == [3]
    mismatch = read(
        db_path,
        """
        select count(*) as n, max(abs(observations.fwd_ret - labels.fwd_ret_5d)) as worst
        from marts.fct_signal_edge_observations as observations
        inner join marts.fct_labels as labels using (ticker, trade_date)
        """,
    )
    assert mismatch["n"].item() > 10_000
    assert mismatch["worst"].item() < 1e-12


@pytest.mark.parametrize("value", ["0", "2.5", "five"])
def test_a_bad_label_horizon_is_one_clear_compile_error(value, tmp_path):
    variables = f"{{label_horizon_days: {value}}}"
    result = run_dbt(tmp_path / "scratch.duckdb", tmp_path, "compile", "-s", "dim_labels", "--vars", variables)
    assert result.returncode != 0
    assert "var label_horizon_days must be a whole number of trading days >= 1" in result.stdout
    assert "--vars '{label_horizon_days: 5}'" in result.stdout

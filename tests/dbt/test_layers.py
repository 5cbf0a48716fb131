"""The dbt graph flows one way, read from the manifest of a real `dbt parse`: staging reads only sources,
intermediate models read staging, seeds and other intermediate models (never a mart), and the forward return
with its gap rule is written once (macro forward_returns), used by both the labels and the signal edge."""

from __future__ import annotations

import pytest
from helpers import PROJECT_DIR

pytestmark = pytest.mark.slow


def layer(node: dict) -> str:
    """staging, intermediate or marts (the model's folder), or the node's kind (seed, source)."""
    if node["resource_type"] != "model":
        return node["resource_type"]
    return node["original_file_path"].split("/")[1]


def test_no_model_reads_a_layer_after_its_own(manifest):
    nodes = {**manifest["nodes"], **manifest["sources"]}
    allowed = {
        "staging": {"source"},
        "intermediate": {"staging", "intermediate", "seed"},
        "marts": {"staging", "intermediate", "marts", "seed"},
    }
    models = [node for node in manifest["nodes"].values() if node["resource_type"] == "model"]
    assert {layer(model) for model in models} == set(allowed)
    backwards = [
        (model["name"], nodes[parent]["name"], layer(nodes[parent]))
        for model in models
        for parent in model["depends_on"]["nodes"]
        if layer(nodes[parent]) not in allowed[layer(model)]
    ]
    assert backwards == []
    universe = manifest["nodes"]["model.feature_store.int_tickers__universe"]
    readers = {model["name"] for model in models if universe["unique_id"] in model["depends_on"]["nodes"]}
    assert {"int_prices__sequenced", "int_market__daily_series", "int_features__cross_asset", "dim_tickers"} <= readers


def test_the_forward_return_is_written_once(manifest):
    users = {
        node["name"]
        for node in manifest["nodes"].values()
        if "macro.feature_store.forward_returns" in node.get("depends_on", {}).get("macros", [])
    }
    assert users == {"fct_labels", "fct_signal_edge_observations"}
    # No model looks ahead by itself: `lead(` appears in the macro only.
    models_with_lead = [
        path.relative_to(PROJECT_DIR).as_posix()
        for path in (PROJECT_DIR / "models").rglob("*.sql")
        if "lead(" in path.read_text().lower()
    ]
    assert models_with_lead == []

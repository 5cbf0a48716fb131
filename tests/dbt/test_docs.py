"""`dbt docs generate` works, and every column of every model is described in YAML."""

from __future__ import annotations

import json

import pytest
from helpers import private_copy, run_dbt

pytestmark = pytest.mark.slow


def test_docs_generate_and_every_column_is_documented(synthetic_store, tmp_path):
    target = tmp_path / "target"
    result = run_dbt(private_copy(synthetic_store, tmp_path / "store"), tmp_path, "docs", "generate")
    assert result.returncode == 0, result.stdout[-3000:]
    manifest = json.loads((target / "manifest.json").read_text())
    catalog = json.loads((target / "catalog.json").read_text())
    undocumented = []
    for unique_id, node in manifest["nodes"].items():
        if node["resource_type"] != "model":
            continue
        assert node["description"].strip(), f"{unique_id} has no description"
        built = catalog["nodes"].get(unique_id)
        assert built is not None, f"{unique_id} is not in the catalog"
        for column in built["columns"]:
            described = node["columns"].get(column, {}).get("description", "").strip()
            if not described:
                undocumented.append(f"{node['name']}.{column}")
    assert undocumented == []
    features = catalog["nodes"]["model.feature_store.fct_features.v1"]["columns"]
    assert len(features) == 62

"""`dbt docs generate` works, and every column of every model is described in YAML."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from helpers import PROJECT_DIR


def test_docs_generate_and_every_column_is_documented(synthetic_store, tmp_path):
    dbt = Path(sys.executable).parent / "dbt"
    target = tmp_path / "target"
    result = subprocess.run(
        [str(dbt), "docs", "generate", "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR)]
        + ["--target-path", str(target), "--log-path", str(tmp_path / "logs")],
        cwd=PROJECT_DIR,
        env={**os.environ, "FEATURE_STORE_DB": str(synthetic_store)},
        capture_output=True,
        text=True,
        timeout=600,
    )
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

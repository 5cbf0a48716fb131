"""One description per feature, and one step from a feature's name to the SQL that computes it.

From a real `dbt parse` (the manifest) and the raw YAML and SQL files: every feature of fct_features has a
docs block of its name, every model's YAML column of that name points at it with doc() (so the rendered
descriptions are identical everywhere), the mart's column says its family and `computed_in`, the model
whose SQL defines the name, and no macro call makes up a feature name from a prefix."""

from __future__ import annotations

import re
from collections import Counter, defaultdict

import pytest
import yaml
from helpers import PROJECT_DIR

pytestmark = pytest.mark.slow

MART = "model.feature_store.fct_features.v1"
KEYS = {"ticker", "trade_date"}
# FEATURES.md: features per family.
FAMILY_SIZES = {"technical": 20, "volume_flow": 5, "microstructure": 10, "sentiment": 7, "cross_asset": 15, "events": 3}
# Marts carry features on; they never compute one.
PASS_THROUGH = {"fct_features", "fct_training_examples"}


@pytest.fixture(scope="module")
def features(manifest) -> dict[str, dict]:
    """The mart's 60 feature columns, by name, as the manifest has them."""
    columns = {name: column for name, column in manifest["nodes"][MART]["columns"].items() if name not in KEYS}
    assert len(columns) == 60
    return columns


@pytest.fixture(scope="module")
def models(manifest) -> dict[str, dict]:
    """Every model node by name (the versioned fct_features under its plain name)."""
    return {node["name"]: node for node in manifest["nodes"].values() if node["resource_type"] == "model"}


def yaml_columns():
    """(file, model, column entry) for every column of every model in the raw YAML under models/."""
    for path in sorted((PROJECT_DIR / "models").rglob("*.yml")):
        for model in yaml.safe_load(path.read_text()).get("models") or []:
            entries = list(model.get("columns") or [])
            for version in model.get("versions") or []:
                entries += [column for column in version.get("columns") or [] if "name" in column]
            for column in entries:
                yield path.relative_to(PROJECT_DIR), model["name"], column


def sql_without_comments(text: str) -> str:
    """SQL with its `--` line comments and Jinja comments removed."""
    text = re.sub(r"\{#.*?#\}", "", text, flags=re.DOTALL)
    return re.sub(r"--[^\n]*", "", text)


def test_every_yaml_column_of_a_feature_points_at_its_docs_block(features):
    wrong = [
        f"{path}: {model}.{column['name']} says {column.get('description')!r}"
        for path, model, column in yaml_columns()
        if column["name"] in features and column.get("description") != f"{{{{ doc('{column['name']}') }}}}"
    ]
    assert wrong == []


def test_each_feature_has_one_docs_block_rendered_the_same_in_every_model(manifest, features, models):
    docs = manifest["docs"]
    carriers = defaultdict(set)
    different = []
    for name in features:
        block = docs.get(f"doc.feature_store.{name}")
        assert block is not None, f"no {{% docs {name} %}} block"
        assert len(block["block_contents"].strip()) > 40, f"docs block {name} says almost nothing"
        family = features[name]["meta"].get("family")
        assert f"/{family}/" in block["original_file_path"], f"docs block {name} is not in its family's folder"
    for model in models.values():
        for name, column in model["columns"].items():
            if name in features:
                carriers[name].add(model["name"])
                if column["description"] != docs[f"doc.feature_store.{name}"]["block_contents"]:
                    different.append(f"{model['name']}.{name}")
    assert different == []
    for name, column in features.items():
        expected = PASS_THROUGH | {column["meta"].get("computed_in")}
        assert expected <= carriers[name], f"{name} is documented in {sorted(carriers[name])}, not {sorted(expected)}"


def test_each_mart_feature_names_its_family_and_the_model_that_computes_it(features, models):
    families = Counter()
    problems = []
    for name, column in features.items():
        meta = column.get("meta") or {}
        families[meta.get("family")] += 1
        computed_in = meta.get("computed_in")
        model = models.get(computed_in)
        if model is None:
            problems.append(f"{name}: computed_in {computed_in!r} is not a model")
            continue
        if computed_in in PASS_THROUGH or not model["original_file_path"].startswith("models/intermediate/"):
            problems.append(f"{name}: computed_in {computed_in} is not an intermediate model")
        sql = (PROJECT_DIR / model["original_file_path"]).read_text()
        if not re.search(rf"\b{name}\b", sql):
            problems.append(f"{name}: not in {model['original_file_path']}")
        # Defined there: an output alias (`... as name`) or a name given to a macro ('name'), not only a
        # column passed on (`family.name`).
        if not re.search(rf"\bas\s+{name}\b|'{name}'", sql_without_comments(sql)):
            problems.append(f"{name}: {computed_in} only passes it on")
        if name not in model["columns"]:
            problems.append(f"{name}: {computed_in}'s YAML does not list it")
    assert problems == []
    assert dict(families) == FAMILY_SIZES


def test_no_macro_call_makes_up_a_feature_name():
    # Read from the files, not the manifest: this should say where, even when a bad call stops `dbt parse`.
    calls = [
        f"{path.relative_to(PROJECT_DIR)}:{number}: {line.strip()}"
        for folder in ("models", "macros", "data_tests")
        for path in sorted((PROJECT_DIR / folder).rglob("*.sql"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if re.search(r"\bprefix\s*=", line)
    ]
    assert calls == []


def test_the_asof_join_takes_explicit_output_names(manifest):
    for macro in ("asof_before", "default__asof_before", "duckdb__asof_before"):
        assert "prefix" not in manifest["macros"][f"macro.feature_store.{macro}"]["macro_sql"], macro
    documented = [argument["name"] for argument in manifest["macros"]["macro.feature_store.asof_before"]["arguments"]]
    assert "columns" in documented and "prefix" not in documented


def test_each_rank_column_names_the_feature_it_ranks_and_is_documented_where_it_is_carried(features, models):
    ranks = {name: column for name, column in models["fct_feature_ranks"]["columns"].items() if name not in KEYS}
    problems = []
    for name, column in ranks.items():
        meta = column.get("meta") or {}
        if meta.get("family") != "cross_sectional" or meta.get("computed_in") != "fct_feature_ranks":
            problems.append(f"{name}: meta {meta}")
        if name != f"{meta.get('ranks')}_xs_rank" or meta.get("ranks") not in features:
            problems.append(f"{name}: ranks {meta.get('ranks')!r}, not a feature of the mart")
        carried = models["fct_training_examples"]["columns"].get(name)
        if carried is None or carried["description"] != column["description"]:
            problems.append(f"{name}: not documented alike in fct_training_examples")
        if len(column["description"]) < 100:
            problems.append(f"{name}: says almost nothing")
    assert problems == []
    ranked = {column["meta"]["ranks"] for column in ranks.values()}
    market_level = {name for name in features if name not in ranked}
    # Every family is ranked but the market-level cross-asset features (the same for every ticker on a day).
    assert {features[name]["meta"]["family"] for name in market_level} == {"cross_asset"}
    assert len(ranked) == 49 and len(market_level) == 11

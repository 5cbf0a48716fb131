"""`python -m ml.train --params JSON`: LightGBM settings of the user's own, checked before anything runs."""

from __future__ import annotations

import argparse

import pytest

from ml.train.cli import build_parser, lgbm_settings


def test_a_json_object_of_lightgbm_parameters_is_the_one_candidate():
    settings = lgbm_settings('{"num_leaves": 7, "min_data_in_leaf": 800, "lambda_l2": 10.0, "extra_trees": true}')
    assert settings == {"num_leaves": 7, "min_data_in_leaf": 800, "lambda_l2": 10.0, "extra_trees": True}
    assert lgbm_settings('{"max_leaves": 7}') == {"max_leaves": 7}  # LightGBM's alias of num_leaves
    assert build_parser().parse_args([]).params is None  # default: the walk-forward search


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{num_leaves: 7}", "not JSON"),
        ("[7]", "a JSON object of LightGBM parameters is expected"),
        ("{}", "a JSON object of LightGBM parameters is expected"),
        ('{"num_leaves": [7, 15]}', "num_leaves: a number, a string or true/false is expected"),
        ('{"num_leaves": null}', "num_leaves: a number, a string or true/false is expected"),
        ('{"seed": 1}', "seed: set by the command"),
        ('{"objective": "regression", "device_type": "gpu"}', "device_type, objective: set by the command"),
        ('{"num_leavs": 7}', "not a LightGBM parameter: num_leavs"),
    ],
)
def test_anything_else_is_a_one_line_reason(text, reason):
    with pytest.raises(argparse.ArgumentTypeError, match=reason) as raised:
        lgbm_settings(text)
    assert "\n" not in str(raised.value)

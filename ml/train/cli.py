"""`python -m ml.train`: train, calibrate and store the meta-learner from the feature mart.

    python -m ml.train                       # the database of $FEATURE_STORE_DB or warehouse/feature_store.duckdb
    python -m ml.train --device cpu --seed 7 --n-features 20
    python -m ml.train --label up            # label_up_5d instead of the default label_beats_median_5d
    python -m ml.train --params '{"num_leaves": 7, "min_data_in_leaf": 800}'
                                             # LightGBM settings of your own: no walk-forward search
    python -m ml.train --engine dask         # the boosters train with lightgbm.dask on a local Dask cluster
    python -m ml.train --engine dask --scheduler tcp://10.0.0.5:8786 --examples /shared/examples
                                             # ... on a running Dask cluster, whose workers read the examples
                                             # from a shared folder

Prints progress for each step and ends with a short summary (AUC per split, ECE before/after
calibration, top features, device, time). Follows the command-line convention of `cli` (exit 0 / 1 / 2 /
130, one-line errors). The database is held (read-write) for the whole run; the model is written at the
end in one transaction, so an interrupted run stores nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys

from cli import Terminal, UsageError, run_command
from cli.arguments import add_database_argument, positive_int, seed
from ml.errors import MLError
from ml.estimators.engines import DASK, ENGINES, LOCAL
from ml.estimators.learner import RESERVED_LGBM_PARAMS
from ml.formatting import number
from ml.train.data import DEFAULT_LABEL, LABELS
from ml.train.pipeline import TrainSummary, train_model
from ml.train.tuning import CANDIDATE_PARAMS
from store import connect, database_path

INTERRUPTED = "no model was stored: the database is as it was before this command."


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ml.train", description=__doc__.splitlines()[0])
    add_database_argument(parser)
    parser.add_argument("--seed", type=seed, default=42, help="random state (default 42): same seed, same metrics")
    parser.add_argument(
        "--device", choices=("auto", "cpu", "gpu", "cuda"), default="auto", help="LightGBM device (default auto)"
    )
    parser.add_argument(
        "--label",
        choices=tuple(LABELS),
        default=DEFAULT_LABEL,
        help=f"what the model predicts (default {DEFAULT_LABEL}): "
        + "; ".join(f"{name} = {spec.column}" for name, spec in LABELS.items()),
    )
    parser.add_argument("--n-features", type=positive_int, default=20, metavar="N", help="features to keep (20)")
    parser.add_argument(
        "--params",
        type=lgbm_settings,
        metavar="JSON",
        help='LightGBM settings to train with, as a JSON object, for example \'{"num_leaves": 7, '
        "\"min_data_in_leaf\": 800}' (over the learner's defaults; no search). Default: the setting the "
        "walk-forward search chooses among ml.train.tuning.CANDIDATE_PARAMS on the training window",
    )
    parser.add_argument(
        "--calibration",
        choices=("auto", "identity", "sigmoid", "isotonic", "binned_isotonic"),
        default="auto",
        help="calibration method (default auto: identity, Platt or binned isotonic, chosen on the latest slice of "
        "the calibration window; the identity unless another clearly beats it)",
    )
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        default=LOCAL,
        help="where the boosters train (default local): dask trains them with lightgbm.dask on the Dask cluster "
        "of --scheduler, or on a local cluster started for the run; the other steps run here either way "
        "(docs/scale.md)",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="the Dask scheduler to train on with --engine dask, for example tcp://10.0.0.5:8786",
    )
    parser.add_argument(
        "--examples",
        metavar="DIR",
        help="with --engine dask: the folder the training examples are written to as Parquet, which the workers "
        "read (default $FEATURE_STORE_PARQUET/fct_training_examples, else warehouse/parquet/fct_training_examples); "
        "on a cluster, a shared folder every worker reads at the same path",
    )
    return parser


def lgbm_settings(text: str) -> dict:
    """`--params`: a JSON object of LightGBM parameters, each a number, string or boolean, none of those the
    learner sets itself (objective, seed, device, rounds), every name one LightGBM knows."""
    example = 'for example \'{"num_leaves": 7, "min_data_in_leaf": 800}\''
    try:
        settings = json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"not JSON ({error.msg} at character {error.pos}): {example}") from None
    if not isinstance(settings, dict) or not settings:
        raise argparse.ArgumentTypeError(f"a JSON object of LightGBM parameters is expected, {example}")
    for name, value in settings.items():
        if isinstance(value, (dict, list)) or value is None:
            raise argparse.ArgumentTypeError(f"{name}: a number, a string or true/false is expected, not {value!r}")
    reserved = sorted(RESERVED_LGBM_PARAMS.intersection(settings))
    if reserved:
        raise argparse.ArgumentTypeError(
            f"{', '.join(reserved)}: set by the command (--seed, --device; the learner's objective and rounds)"
        )
    unknown = sorted(set(settings) - _lightgbm_parameter_names())
    if unknown:
        raise argparse.ArgumentTypeError(f"not a LightGBM parameter: {', '.join(unknown)}")
    return settings


def _lightgbm_parameter_names() -> set[str]:
    """Every parameter name LightGBM accepts, aliases included (LightGBM itself would ignore another name)."""
    from lightgbm.basic import _ConfigAliases

    return {name for aliases in _ConfigAliases._get_all_param_aliases().values() for name in aliases}


def print_summary(summary: TrainSummary, terminal: Terminal) -> None:
    """The end-of-run table a person reads."""
    columns = ("split", "rows", "AUC", "log loss", "Brier", "ECE", "IC", "rank IC", "NW t", "distinct")
    rows = []
    for name in ("train", "validation", "calibration", "test"):
        values = summary.metrics[name]
        rows.append(
            (
                name,
                number(values["rows"], 0),
                *(number(values[key], 3, missing="-") for key in ("auc", "log_loss", "brier", "ece")),
                number(values["ic"], 4, missing="-"),
                number(values["rank_ic"], 4, missing="-"),
                number(values["rank_ic_t"], 2, missing="-"),
                number(values["distinct_share"], 2, missing="-"),
            )
        )
    terminal.table(f"model {summary.model_id} (label {summary.label})", columns, rows, left=("split",))
    terminal.line(
        "NW t: Newey-West t-statistic of the daily rank IC; distinct: median share of a day's stocks with their "
        "own probability"
    )
    test = summary.metrics["test"]
    terminal.line(
        f"test AUC {number(test['auc'], 3, missing='-')} (standard error {number(test['auc_se'], 3, missing='-')}, "
        f"clustered by day); ECE before calibration "
        f"{number(summary.ece_before, 3, missing='-')}, after {number(summary.ece_after, 3, missing='-')} "
        "(calibration fitted on the calibration window only)"
    )
    chosen = summary.calibration_chosen
    if summary.calibration_method == "auto" and summary.calibration_selection is not None:
        scores = summary.calibration_selection.get("candidates", {})
        shown = ", ".join(f"{name} {values['log_loss']:.4f}" for name, values in scores.items())
        terminal.line(f"calibration: auto chose {chosen}" + (f" (held-out log loss: {shown})" if shown else ""))
    else:
        terminal.line(f"calibration: {chosen}")
    stacker = summary.stacker
    if stacker:
        terminal.line(
            f"stacker: {stacker['choice']} (weights global {stacker['coef'][0]:.3f}, regime {stacker['coef'][1]:.3f})"
        )
    terminal.line("top features: " + ", ".join(f"{name} {value:.3f}" for name, value in summary.top_features))
    if summary.dropped_all_null:
        terminal.line("all-NULL features left out: " + ", ".join(summary.dropped_all_null))
    terminal.line(
        f"device: {summary.device_used} (asked for {summary.device_requested}), engine {summary.engine}; "
        f"{summary.seconds:.1f} s"
    )
    terminal.line(f"stored in the ml schema as model {summary.model_id}")


def run(args: argparse.Namespace, terminal: Terminal) -> int:
    """Train on one read-write connection (the boosters here or on a Dask cluster) and print the summary."""
    if args.scheduler is not None and args.engine != DASK:
        raise UsageError("--scheduler names a Dask scheduler: use it with --engine dask")
    if args.examples is not None and args.engine != DASK:
        raise UsageError("--examples is the folder the Dask workers read: use it with --engine dask")
    connection = connect(database_path(args.db), create=False)
    try:
        with _boosters_cluster(args, terminal) as scheduler:
            summary = train_model(
                connection,
                random_state=args.seed,
                device=args.device,
                n_features=args.n_features,
                calibration_method=args.calibration,
                label=args.label,
                engine=args.engine,
                scheduler=scheduler,
                examples=args.examples,
                candidates=CANDIDATE_PARAMS if args.params is None else [args.params],
                report=terminal.say,
            )
    finally:
        connection.close()
    print_summary(summary, terminal)
    return 0


def _boosters_cluster(args: argparse.Namespace, terminal: Terminal) -> contextlib.AbstractContextManager:
    """None for the local engine; for Dask, the scheduler's address (a local cluster's, started here)."""
    if args.engine != DASK:
        return contextlib.nullcontext()
    from ml.estimators.engines import (
        dask as dask_training,  # the scale extra: imported only when asked for (a missing one is one line)
    )

    where = f"the Dask scheduler at {args.scheduler}" if args.scheduler else "a local Dask cluster"
    terminal.say(f"connecting to {where}")
    return dask_training.cluster(args.scheduler)


def main(argv: list[str] | None = None) -> int:
    """`python -m ml.train ARGS`: returns the exit status (see `cli.run`)."""
    return run_command(build_parser(), run, argv, user_errors=(MLError,), interrupted=INTERRUPTED)


if __name__ == "__main__":
    sys.exit(main())

"""`python -m ml.train`: train, calibrate and store the meta-learner from the feature mart.

    python -m ml.train                       # the database of $FEATURE_STORE_DB or warehouse/feature_store.duckdb
    python -m ml.train --device cpu --seed 7 --features 20

Prints progress for each step and ends with a short summary (AUC per split, ECE before/after
calibration, top features, device, time). Users' errors print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import sys

from rich.console import Console
from rich.table import Table

from ingest.config import DB_ENV_VAR, DEFAULT_DB, database_path
from ml.errors import MLError
from ml.pipeline import TrainSummary, train_model

_err = Console(stderr=True, highlight=False)
_out = Console(highlight=False, width=None if sys.stdout.isatty() else 120)


def _say(message: str) -> None:
    _err.print(f"• {message}")
    sys.stderr.flush()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ml.train", description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=None, help=f"DuckDB file (default: ${DB_ENV_VAR} or {DEFAULT_DB})")
    parser.add_argument("--seed", type=int, default=42, help="random state (default 42): same seed, same metrics")
    parser.add_argument(
        "--device", choices=("auto", "cpu", "gpu", "cuda"), default="auto", help="LightGBM device (default auto)"
    )
    parser.add_argument("--features", type=int, default=20, help="features to keep (default 20)")
    parser.add_argument("--calibration", choices=("isotonic", "sigmoid"), default="isotonic")
    return parser


def _fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def print_summary(summary: TrainSummary) -> None:
    """The end-of-run table a person reads."""
    table = Table(title=f"model {summary.model_id}")
    for column in ("split", "rows", "AUC", "log loss", "Brier", "ECE", "IC", "rank IC"):
        table.add_column(column, justify="left" if column == "split" else "right")
    for name in ("train", "validation", "calibration", "test"):
        values = summary.metrics[name]
        table.add_row(
            name,
            f"{int(values['rows']):,}",
            _fmt(values["auc"]),
            _fmt(values["log_loss"]),
            _fmt(values["brier"]),
            _fmt(values["ece"]),
            _fmt(values["ic"], 4),
            _fmt(values["rank_ic"], 4),
        )
    _out.print(table)
    test = summary.metrics["test"]
    _out.print(
        f"test AUC {_fmt(test['auc'])}; ECE before calibration {_fmt(summary.ece_before)}, "
        f"after {_fmt(summary.ece_after)} (calibration fitted on the calibration window only)"
    )
    _out.print("top features: " + ", ".join(f"{name} {value:.3f}" for name, value in summary.top_features))
    if summary.dropped_all_null:
        _out.print("all-NULL features left out: " + ", ".join(summary.dropped_all_null))
    _out.print(f"device: {summary.device_used} (asked for {summary.device_requested}); {summary.seconds:.1f} s")
    _out.print(f"stored in the ml schema as model {summary.model_id}")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        summary = train_model(
            database_path(args.db),
            random_state=args.seed,
            device=args.device,
            n_features=args.features,
            calibration_method=args.calibration,
            report=_say,
        )
    except MLError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print_summary(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark the edge analysis: wall time and peak memory of `python -m ml.backtest`, in a fresh process.

    python bench/bench_backtest.py       # synthetic 155 x 5y (default data) and the real 379 x 5y set

Target (2 cores): under 30 s for the 155 x 5-year default (factor view of 60 features over the whole
history, backtest of the test window, report). Data is ingested, built with `dbt build` and a model is
trained first (not timed). Also prints the rows the factor view covered and the report's size.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_features import default_cases, prepare_store, run  # noqa: E402


def main() -> int:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    cases = default_cases("< 30 s")
    print(f"{'case':22} {'examples':>9} {'backtest s':>10} {'peak MiB':>9} {'report KiB':>10}  target")
    failed = False
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        for index, (name, ingest, target) in enumerate(cases):
            db_path = scratch / f"case{index}.duckdb"
            env = {"FEATURE_STORE_DB": str(db_path)}
            if not prepare_store(db_path, ingest, scratch, train=True):
                return 1
            report = scratch / f"report{index}.html"
            seconds, peak, code = run(
                [sys.executable, "-m", "ml.backtest", "--report", str(report)], env, scratch / "backtest.log"
            )
            if code:
                failed = True
                print((scratch / "backtest.log").read_text()[-3000:], file=sys.stderr)
                print(f"{name:22} {'-':>9} {seconds:10.1f} {peak:9.0f} {'-':>10}  FAILED")
                continue
            with duckdb.connect(str(db_path), read_only=True) as connection:
                examples = connection.execute("select count(*) from marts.fct_training_examples").fetchone()[0]
            size = report.stat().st_size / 1024
            print(f"{name:22} {examples:9,} {seconds:10.1f} {peak:9.0f} {size:10.0f}  {target}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

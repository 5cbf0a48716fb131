"""Benchmark training: wall time and peak memory of `python -m ml.train`, each in a fresh process.

    python bench/bench_train.py                  # synthetic 155 x 5y (default data) and the real 379 x 5y set
    python bench/bench_train.py --device gpu     # the same on LightGBM's GPU learner (where one is lent)
    python bench/bench_train.py --engine dask    # the boosters on a local Dask cluster (lightgbm.dask)

With --engine dask the peak memory is summed over the command and its Dask workers (the local cluster's
processes); otherwise it is the command's own.

Target (2 cores, CPU): under 60 s for the 155 x 5-year default. Data is ingested and built with
`dbt build` first (not timed); the printed AUC is the test window's, from ml.metrics.
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
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", choices=("cpu", "gpu", "cuda", "auto"))
    parser.add_argument("--engine", default="local", choices=("local", "dask"), help="where the boosters train")
    options = parser.parse_args()
    cases = default_cases("< 60 s")
    print(f"python -m ml.train --device {options.device} --engine {options.engine}")
    timer = run
    if options.engine == "dask":
        from bench_scale import measure as timer  # sums memory over the Dask workers too (psutil, the scale extra)
    print(f"{'case':22} {'examples':>9} {'train s':>8} {'peak MiB':>9} {'test AUC':>9}  device  target")
    failed = False
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        for index, (name, ingest, target) in enumerate(cases):
            db_path = scratch / f"case{index}.duckdb"
            # The Dask engine's Parquet export of the examples goes to the scratch folder too.
            env = {"FEATURE_STORE_DB": str(db_path), "FEATURE_STORE_PARQUET": str(scratch / "parquet")}
            if not prepare_store(db_path, ingest, scratch):
                return 1
            train = [sys.executable, "-m", "ml.train", "--device", options.device, "--engine", options.engine]
            seconds, peak, code = timer(train, env, scratch / "train.log")
            if code:
                failed = True
                print((scratch / "train.log").read_text()[-3000:], file=sys.stderr)
                print(f"{name:22} {'-':>9} {seconds:8.1f} {peak:9.0f} {'-':>9}  FAILED")
                continue
            with duckdb.connect(str(db_path), read_only=True) as connection:
                examples = connection.execute("select count(*) from marts.fct_training_examples").fetchone()[0]
                auc, device = connection.execute(
                    "select metrics.value, models.device_used from ml.metrics join ml.models using (model_id) "
                    "where split = 'test' and metric = 'auc'"
                ).fetchone()
            print(f"{name:22} {examples:9,} {seconds:8.1f} {peak:9.0f} {auc:9.4f}  {device:6}  {target}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

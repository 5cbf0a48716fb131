"""Scaling: the same dbt project on DuckDB (with a memory limit) and on Spark (local), on one synthetic market.

    python bench/bench_scale.py                                  # 1,500 tickers x 10 years (long on 2 cores)
    python bench/bench_scale.py --tickers 155 --years 5          # the default universe
    python bench/bench_scale.py --engines duckdb --memory-limit 4GB

Steps: ingest (untimed); `dbt build` on DuckDB with $FEATURE_STORE_MEMORY_LIMIT; `python -m ingest export`
(the raw datasets as Parquet); `dbt build --target spark` (a local Spark session reading that Parquet). Each
timed step prints its wall time and its peak memory: the resident set summed over the step's process tree
(dbt's Python and, for Spark, its JVM), sampled every 0.2 s. docs/scale.md records what was measured.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_features import ROOT, dbt_build_args  # noqa: E402


def tree_rss(process: psutil.Process) -> int:
    """Resident bytes of `process` and its descendants (those that vanish meanwhile count as 0)."""
    total = 0
    for member in [process, *process.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            total += member.memory_info().rss
    return total


def measure(args: list[str], env: dict[str, str], log: Path) -> tuple[float, float, int]:
    """Run a command; return (seconds, peak MiB over its process tree, exit code), its output in `log`."""
    with log.open("w") as output:
        started = time.perf_counter()
        child = subprocess.Popen(args, cwd=ROOT, env={**os.environ, **env}, stdout=output, stderr=output)
        watched = psutil.Process(child.pid)
        peak = 0
        while child.poll() is None:
            with contextlib.suppress(psutil.Error):
                peak = max(peak, tree_rss(watched))
            time.sleep(0.2)
    return time.perf_counter() - started, peak / 2**20, child.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickers", type=int, default=1500, help="synthetic equities (default 1,500)")
    parser.add_argument("--years", type=float, default=10, help="years of business days (default 10)")
    parser.add_argument("--memory-limit", default="4GB", help="DuckDB's memory limit (default 4GB)")
    parser.add_argument("--engines", default="duckdb,spark", help="comma-separated: duckdb, spark (default both)")
    parser.add_argument("--keep", type=Path, default=None, help="work in this folder and keep it (default: a temp)")
    options = parser.parse_args()
    engines = {name.strip() for name in options.engines.split(",") if name.strip()}
    if not engines <= {"duckdb", "spark"}:
        parser.error("--engines takes duckdb, spark or both")

    with tempfile.TemporaryDirectory(prefix="bench-scale-") as temporary:
        scratch = options.keep or Path(temporary)
        scratch.mkdir(parents=True, exist_ok=True)
        env = {
            "FEATURE_STORE_DB": str(scratch / "store.duckdb"),
            "FEATURE_STORE_MEMORY_LIMIT": options.memory_limit,
            "FEATURE_STORE_PARQUET": str(scratch / "parquet"),
            "FEATURE_STORE_SPARK_DIR": str(scratch / "spark"),
        }
        case = f"synthetic {options.tickers:,} x {options.years:g} years"
        print(f"{case}: ingesting (not timed) into {scratch}", flush=True)
        ingest = [sys.executable, "-m", "ingest", "synthetic", "--n-tickers", str(options.tickers)]
        _, _, code = measure([*ingest, "--years", str(options.years)], env, scratch / "ingest.log")
        if code:
            print((scratch / "ingest.log").read_text()[-3000:], file=sys.stderr)
            return 1
        steps = []
        if "duckdb" in engines:
            name = f"dbt build, DuckDB (memory limit {options.memory_limit})"
            steps.append((name, dbt_build_args(scratch / "duckdb")))
        if "spark" in engines:
            steps.append(("python -m ingest export (Parquet)", [sys.executable, "-m", "ingest", "export"]))
            spark_build = [*dbt_build_args(scratch / "spark-dbt"), "--target", "spark"]
            steps.append(("dbt build --target spark (local)", spark_build))
        print(f"{'step':52} {'seconds':>9} {'peak MiB':>9}")
        failed = False
        for index, (name, command) in enumerate(steps):
            log = scratch / f"step{index}.log"
            seconds, peak, code = measure(command, env, log)
            print(f"{name:52} {seconds:9.1f} {peak:9.0f}" + ("" if code == 0 else f"  FAILED (exit {code}, {log})"))
            failed = failed or code != 0
            if code and options.keep is None:
                print(log.read_text()[-3000:], file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

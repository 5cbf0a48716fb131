"""Benchmark the feature mart: wall time and peak memory of a full `dbt build`, each in a fresh process.

    python bench/bench_features.py                     # synthetic 155 x 5y and the real 379 x 5y set
    python bench/bench_features.py --scaling           # also 1,500 synthetic tickers x 10 years

Targets (2 cores): real 379 tickers x 5 years under 20 s and under 2 GB. Data is ingested first (not
timed); then `dbt build` (every model and data test) runs against it with target/ and logs/ in a
scratch folder. Peak memory is the resident set of the dbt process, which runs DuckDB in-process.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
DBT = Path(sys.executable).parent / "dbt"
#: `python -m ingest` arguments of the shared real data (379 S&P 500 stocks + the market series).
REAL_INGEST = ["csv", str(SHARED / "sp500_2015_2020"), str(SHARED / "market_2009_2019")]


def run(args: list[str], env: dict[str, str], log: Path) -> tuple[float, float, int]:
    """Run a command; return (seconds, peak RSS MiB, exit code), output to `log`."""
    with log.open("w") as output:
        started = time.perf_counter()
        process = subprocess.Popen(args, cwd=ROOT, env={**os.environ, **env}, stdout=output, stderr=output)
        _, status, usage = os.wait4(process.pid, 0)
    return time.perf_counter() - started, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def dbt_build_args(scratch: Path) -> list[str]:
    """`dbt build` of the project with target/ and logs/ under `scratch`."""
    return [str(DBT), "build", "--project-dir", str(ROOT), "--profiles-dir", str(ROOT)] + [
        "--target-path",
        str(scratch / "target"),
        "--log-path",
        str(scratch / "logs"),
    ]


def default_cases(synthetic_target: str) -> list[tuple[str, list[str], str]]:
    """(name, ingest arguments, target) of the synthetic default and, when ../shared/data exists, the real set."""
    cases = [("synthetic 155 x 5y", ["synthetic"], synthetic_target)]
    if (SHARED / "sp500_2015_2020").is_dir():
        cases.append(("real 379 x 5y", REAL_INGEST, ""))
    return cases


def prepare_store(db_path: Path, ingest: list[str], scratch: Path, *, train: bool = False) -> bool:
    """Ingest, `dbt build` and (with `train`) `python -m ml.train --device cpu` into `db_path`, untimed.
    Prints the log's tail and returns False when a step fails."""
    env = {"FEATURE_STORE_DB": str(db_path)}
    steps = [[sys.executable, "-m", "ingest", *ingest], dbt_build_args(scratch)]
    if train:
        steps.append([sys.executable, "-m", "ml.train", "--device", "cpu"])
    for step in steps:
        _, _, code = run(step, env, scratch / "prepare.log")
        if code:
            print((scratch / "prepare.log").read_text()[-3000:], file=sys.stderr)
            return False
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scaling", action="store_true", help="add the 1,500 tickers x 10 years case")
    options = parser.parse_args()

    cases: list[tuple[str, list[list[str]], str]] = [("synthetic 155 x 5y", [["synthetic"]], "")]
    if (SHARED / "sp500_2015_2020").is_dir():
        cases.append(("real 379 x 5y", [REAL_INGEST], "< 20 s, < 2 GB"))
    if options.scaling:
        cases.append(("synthetic 1,500 x 10y", [["synthetic", "--n-tickers", "1500", "--years", "10"]], ""))

    print(f"{'case':24} {'rows':>10} {'dbt build s':>12} {'peak MiB':>9}  target")
    failed = False
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        for index, (name, ingests, target) in enumerate(cases):
            db_path = scratch / f"case{index}.duckdb"
            env = {"FEATURE_STORE_DB": str(db_path)}
            for ingest in ingests:
                _, _, code = run([sys.executable, "-m", "ingest", *ingest], env, scratch / "ingest.log")
                if code:
                    print((scratch / "ingest.log").read_text()[-2000:], file=sys.stderr)
                    return 1
            seconds, peak, code = run(dbt_build_args(scratch), env, scratch / "dbt.log")
            rows = "?"
            if code == 0:
                import duckdb

                with duckdb.connect(str(db_path), read_only=True) as connection:
                    rows = f"{connection.execute('select count(*) from marts.fct_features').fetchone()[0]:,}"
            else:
                failed = True
                print((scratch / "dbt.log").read_text()[-3000:], file=sys.stderr)
            print(f"{name:24} {rows:>10} {seconds:12.1f} {peak:9.0f}  {target}{'  FAILED' if code else ''}", flush=True)
            db_path.unlink(missing_ok=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

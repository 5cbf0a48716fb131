"""Benchmark ingestion: wall time and peak memory of real `python -m ingest` runs, each in a fresh process.

    python bench/bench_ingest.py                 # synthetic default and the real S&P 500 set
    python bench/bench_ingest.py --n-tickers 1500 --years 10   # add a synthetic scaling run

Targets (2 cores): synthetic 155 tickers x 5 years generated and loaded in under 10 s; the 379-ticker
real set (../shared/data/sp500_2015_2020) loaded in under 15 s. Each case starts from an empty database
file; the reload case runs the same input again (nothing changes, everything is validated again).
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
SP500 = ROOT.parent / "shared" / "data" / "sp500_2015_2020"


def measure(args: list[str], db_path: Path) -> tuple[float, float, int]:
    """Run `python -m ingest ARGS --db DB`; return (seconds, peak RSS in MiB, exit code)."""
    with tempfile.TemporaryFile("w+") as errors:
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "ingest", *args, "--db", str(db_path)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            errors.seek(0)
            print(errors.read()[-3000:], file=sys.stderr)
    return seconds, usage.ru_maxrss / 1024, code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--n-tickers", type=int, default=None, metavar="N", help="also run a synthetic case with N equities"
    )
    parser.add_argument("--years", type=float, default=10.0, help="years for the --n-tickers case (default 10)")
    options = parser.parse_args()

    # (name, ingest arguments, target, database): cases naming the same database run one after another.
    cases: list[tuple[str, list[str], str, str]] = [
        ("synthetic 155 x 5y (default)", ["synthetic"], "< 10 s", "synthetic"),
        ("synthetic 155 x 5y, reload", ["synthetic"], "", "synthetic"),
    ]
    if SP500.is_dir():
        cases += [
            ("real S&P 500, 379 tickers", ["csv", str(SP500)], "< 15 s", "real"),
            ("real S&P 500, reload", ["csv", str(SP500)], "", "real"),
        ]
    else:
        print(f"(skipping the real data: {SP500} not found)")
    if options.n_tickers:
        cases.append(
            (
                f"synthetic {options.n_tickers} x {options.years:g}y",
                ["synthetic", "--n-tickers", str(options.n_tickers), "--years", str(options.years)],
                "",
                "scaling",
            )
        )

    print(f"{'case':34} {'seconds':>8} {'peak MiB':>9}  target")
    with tempfile.TemporaryDirectory() as scratch:
        failed = False
        for name, args, target, database in cases:
            seconds, peak, code = measure(args, Path(scratch) / f"{database}.duckdb")
            failed |= code != 0
            print(f"{name:34} {seconds:8.1f} {peak:9.0f}  {target}{'  FAILED' if code else ''}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark the daily path: wall time and peak memory of the day's `dbt build` with nothing new (plain, and
with the `daily` selector of selectors.yml), of `python -m ml.daily` and of a one-year
`python -m ml.daily --replay`, each in a fresh process.

    python bench/bench_daily.py         # synthetic 155 x 5y (default data) and the real 379 x 5y set

Targets on 2 cores, real 379-ticker store (issue 12): the daily `dbt build` <= 7 s, `python -m ml.daily`
<= 5 s, a one-year replay without retraining <= 3 min. Each store is ingested, built and trained first (not
timed). `ml.daily` scores the store's latest day (`--date latest`), then the same day again (a re-run
replaces it). The replay covers the store's last year; its champion saw those outcomes, so it first trains
a model as of the first day: the line after it gives the days' own time (the sum of `ml.daily_runs.seconds`).
Both run with `--retrain never`: the targets are for scoring, and a challenger's training (about a minute)
is timed by bench_train.py.
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_features import dbt_build_args, default_cases, prepare_store, run  # noqa: E402

STEPS = (
    ("dbt build, nothing new", "dbt", ""),
    ("dbt build --selector daily", "dbt-daily", "<= 7 s (real)"),
    ("ml.daily", "daily", "<= 5 s (real)"),
    ("ml.daily, re-run", "daily", "<= 5 s (real)"),
)


def main() -> int:
    print(f"{'case':22} {'step':26} {'seconds':>8} {'peak MiB':>9}  target")
    failed = False
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        for index, (name, ingest, _target) in enumerate(default_cases("")):
            db_path = scratch / f"case{index}.duckdb"
            env = {"FEATURE_STORE_DB": str(db_path)}
            if not prepare_store(db_path, ingest, scratch, train=True):
                return 1
            for step, kind, target in STEPS:
                if kind.startswith("dbt"):
                    args = dbt_build_args(scratch) + (["--selector", "daily"] if kind == "dbt-daily" else [])
                else:
                    args = [sys.executable, "-m", "ml.daily", "--date", "latest", "--retrain", "never"]
                seconds, peak, code = run(args, env, scratch / "step.log")
                if code:
                    failed = True
                    print((scratch / "step.log").read_text()[-3000:], file=sys.stderr)
                print(f"{name:22} {step:26} {seconds:8.1f} {peak:9.0f}  {'FAILED' if code else target}", flush=True)
            with duckdb.connect(str(db_path), read_only=True) as connection:
                last = connection.execute("select max(trade_date) from marts.fct_features").fetchall()[0][0]
            first = last - dt.timedelta(days=365)
            copy = scratch / f"replay{index}.duckdb"
            args = [sys.executable, "-m", "ml.daily", "--replay", str(first), str(last), "--into", str(copy)]
            args += ["--retrain", "never"]
            seconds, peak, code = run(args, env, scratch / "step.log")
            failed |= bool(code)
            print(f"{name:22} {'replay, one year':26} {seconds:8.1f} {peak:9.0f}  {'FAILED' if code else ''}")
            if not code:
                with duckdb.connect(str(copy), read_only=True) as connection:
                    days, own = connection.execute("select count(*), sum(seconds) from ml.daily_runs").fetchall()[0]
                print(f"{name:22} {f'  of which {days} days':26} {own:8.1f} {'':9}  <= 3 min (real)", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

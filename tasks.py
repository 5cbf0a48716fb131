"""The project's two commands, runnable with nothing but Python 3.11+.

    python3 tasks.py pipeline   # create/reuse .venv, ingest the synthetic market, dbt build, train, backtest
    python3 tasks.py test       # create/reuse .venv, lint (ruff, sqlfluff) and run every test
    python3 tasks.py daily      # the daily routine on the synthetic market: ingest, dbt build, python -m ml.daily

The virtual environment lives in `.venv/` and is rebuilt only when `pyproject.toml` or
`constraints.txt` change (a stamp file records their hash). Dependencies are installed with
`constraints.txt`, the exact versions CI tested; `python3 tasks.py lock` regenerates it.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".installed"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")


def _say(message: str) -> None:
    print(f"==> {message}", flush=True)


def _run(*args: str | Path, check: bool = True, env: dict[str, str] | None = None) -> int:
    merged = {**os.environ, **(env or {})}
    result = subprocess.run([str(a) for a in args], cwd=ROOT, env=merged)
    if check and result.returncode != 0:
        sys.exit(result.returncode)
    return result.returncode


def _requirements_hash() -> str:
    digest = hashlib.sha256()
    for name in ("pyproject.toml", "constraints.txt"):
        path = ROOT / name
        if path.exists():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def ensure_venv() -> None:
    """Create `.venv` and install the project (with dev tools) unless it is already up to date."""
    wanted = _requirements_hash()
    if STAMP.exists() and STAMP.read_text() == wanted and PYTHON.exists():
        return
    if sys.version_info < (3, 11):  # noqa: UP036 - tasks.py may be started by an older python3
        sys.exit(f"Python 3.11 or newer is needed (this is {sys.version.split()[0]}).")
    if not PYTHON.exists():
        _say(f"creating virtual environment in {VENV.relative_to(ROOT)}")
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    _say("installing dependencies (pinned by constraints.txt); this takes a few minutes the first time")
    _run(PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    constraints = ["-c", "constraints.txt"] if (ROOT / "constraints.txt").exists() else []
    _run(PYTHON, "-m", "pip", "install", "--quiet", *constraints, "-e", ".[dev,scale]")
    STAMP.write_text(wanted)


def pipeline(extra: list[str]) -> int:
    """Ingest the built-in synthetic market, build every dbt model and test, train and store the model, then
    measure its edge (python -m ml.backtest: tables in schema analysis, reports/edge_report.html)."""
    ensure_venv()
    _say("ingest: synthetic market")
    _run(PYTHON, "-m", "ingest", "synthetic", *extra)
    # --full-refresh: a re-run with another --seed or --signal rewrites stored history, which a daily
    # (incremental) build would not recompute; on the built-in data a full build takes seconds.
    _say("dbt build --full-refresh")
    _run(BIN / "dbt", "build", "--full-refresh", "--profiles-dir", ROOT, "--project-dir", ROOT)
    _say("python -m ml.train")
    _run(PYTHON, "-m", "ml.train")
    _say("python -m ml.backtest")
    _run(PYTHON, "-m", "ml.backtest")
    database = os.environ.get("FEATURE_STORE_DB", "warehouse/feature_store.duckdb")
    _say(f"done: the feature store, the model and the edge analysis are in {database}")
    _say("the edge report: reports/edge_report.html")
    return 0


def daily(extra: list[str]) -> int:
    """The daily routine on the built-in source (after `pipeline` trained a model): ingest the synthetic market,
    build what is new (`dbt build --selector daily`, incremental), then score its latest day
    (`python -m ml.daily --date latest`: the synthetic market ends on a fixed date, so there is no clock to check
    it against) and write the monitoring report (reports/monitoring_report.html)."""
    ensure_venv()
    _say("ingest: synthetic market")
    _run(PYTHON, "-m", "ingest", "synthetic", *extra)
    _say("dbt build --selector daily")
    _run(BIN / "dbt", "build", "--selector", "daily", "--profiles-dir", ROOT, "--project-dir", ROOT)
    _say("python -m ml.daily --date latest --report")
    _run(PYTHON, "-m", "ml.daily", "--date", "latest", "--report")
    return 0


#: pytest's options for `test`: one worker per core (pytest-xdist), each taking whole modules so that a module's
#: fixtures are built once, the longest modules first (tests/conftest.py orders them).
PARALLEL = ["--numprocesses", "auto", "--dist", "loadfile", "--no-loadscope-reorder"]
#: `test --quick`: every test but those marked slow (dbt builds, trained models, Spark, Dask).
QUICK = ["-m", "not slow"]


def test(extra: list[str]) -> int:
    """Lint Python (ruff) and SQL (sqlfluff), then run pytest on every core; 'no tests collected' is not a failure.
    `--quick` runs only the tests not marked slow (the inner loop); the CI and the README's command run them all."""
    quick = "--quick" in extra
    extra = [argument for argument in extra if argument != "--quick"]
    ensure_venv()
    _say("ruff")
    _run(BIN / "ruff", "check", ".")
    _run(BIN / "ruff", "format", "--check", ".")
    _say("sqlfluff (duckdb dialect)")
    scratch = ROOT / "build"
    scratch.mkdir(exist_ok=True)
    _run(BIN / "sqlfluff", "lint", "models", "data_tests", env={"FEATURE_STORE_DB": str(scratch / "sqlfluff.duckdb")})
    _say("pytest")
    code = _run(PYTHON, "-m", "pytest", *PARALLEL, *(QUICK if quick else []), *extra, check=False)
    if code == 5:  # pytest: no tests were collected
        print("pytest collected no tests")
        return 0
    return code


def lock(_extra: list[str]) -> int:
    """Regenerate constraints.txt from a fresh install of pyproject's ranges."""
    scratch = ROOT / "build" / "lock-venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(scratch)
    python = scratch / "bin" / "python"
    _run(python, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    _run(python, "-m", "pip", "install", "--quiet", ".[dev,scale]")
    frozen = subprocess.run(
        [str(python), "-m", "pip", "freeze", "--exclude-editable", "--exclude", "equity-feature-store"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    header = "# Exact versions tested in CI. Regenerate with: python3 tasks.py lock\n"
    (ROOT / "constraints.txt").write_text(header + frozen)
    _say("wrote constraints.txt")
    return 0


COMMANDS = {"pipeline": pipeline, "test": test, "daily": daily, "lock": lock}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(__doc__)
        return 2
    return COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

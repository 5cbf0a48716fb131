"""What the scale-out tests need: the `scale` extra (pyspark, dbt-spark, dask) and, for Spark, Java 17+."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

MIN_JAVA = 17


def java_problem() -> str | None:
    """Why Spark cannot start here (one line), or None when a Java 17+ runtime is on PATH or in JAVA_HOME."""
    home = os.environ.get("JAVA_HOME")
    java = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if not java or not Path(java).exists():
        return f"Spark needs a Java {MIN_JAVA}+ runtime: no `java` on PATH and JAVA_HOME is not set"
    try:
        shown = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60).stderr
    except (OSError, subprocess.SubprocessError) as error:
        return f"Spark needs a Java {MIN_JAVA}+ runtime: `{java} -version` failed ({error})"
    match = re.search(r'version "(\d+)(?:\.(\d+))?', shown)
    if not match:
        return f"Spark needs a Java {MIN_JAVA}+ runtime: cannot read the version of {java}"
    major = int(match.group(2)) if match.group(1) == "1" else int(match.group(1))  # "1.8.0" is Java 8
    if major < MIN_JAVA:
        return f"Spark needs a Java {MIN_JAVA}+ runtime: {java} is Java {major}"
    return None


def missing_modules(*names: str) -> list[str]:
    return [name for name in names if importlib.util.find_spec(name) is None]


@pytest.fixture(scope="session")
def spark_ready() -> None:
    """Skip (one line saying what is missing) unless dbt-spark's session method can run here."""
    missing = missing_modules("pyspark", "dbt.adapters.spark")
    if missing:
        pytest.skip(f"the scale extra is not installed ({', '.join(missing)}): pip install -e '.[scale]'")
    problem = java_problem()
    if problem:
        pytest.skip(problem)

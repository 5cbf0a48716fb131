"""Fixtures shared by every test package."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A DuckDB file path that does not exist yet."""
    return tmp_path / "warehouse" / "test.duckdb"

"""The daily loop's store: a copy of the small trained store per test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture
def daily_store(small_trained_store, tmp_path) -> Path:
    db_path = tmp_path / "store.duckdb"
    shutil.copy(small_trained_store[0], db_path)
    return db_path

"""Helpers the daily loop's tests share."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
from helpers import read


def feature_days(db_path: Path, after: dt.date) -> list[dt.date]:
    frame = read(db_path, "select distinct trade_date from marts.fct_features where trade_date > ? order by 1", after)
    return [day.date() for day in pd.to_datetime(frame["trade_date"])]


def calibration_end(summary) -> dt.date:
    return summary.splits["calibration"]["last_date"]

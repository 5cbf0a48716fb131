"""The ticker universe, read from the dbt seeds (the single source of truth for it).

`load_universe()` merges the master watchlist (94), the Alpha 76 list and the cross-asset series into
one frame with one row per ticker: 155 equities/ETFs plus ^VIX, ^TNX and BTC-USD. Where a ticker is
on both lists, the master list's descriptive columns win.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ingest.errors import UnknownTickerError

#: The dbt seeds folder that holds the universe.
SEEDS_DIR = Path(__file__).resolve().parent.parent / "seeds"

UNIVERSE_COLUMNS = (
    "ticker",
    "name",
    "asset_class",
    "sector",
    "sector_etf",
    "theme",
    "role",
    "in_master",
    "in_alpha76",
)
LISTS = ("all", "master", "alpha76", "cross_asset")


def load_universe(directory: Path | None = None) -> pd.DataFrame:
    """The merged universe as a DataFrame with `UNIVERSE_COLUMNS`, sorted by ticker."""
    folder = directory or SEEDS_DIR
    master = pd.read_csv(folder / "universe_master.csv", dtype=str, keep_default_na=False)
    alpha = pd.read_csv(folder / "universe_alpha76.csv", dtype=str, keep_default_na=False)
    cross = pd.read_csv(folder / "cross_asset_series.csv", dtype=str, keep_default_na=False)
    master["in_master"] = True
    alpha["in_alpha76"] = True
    descriptive = ["ticker", "name", "asset_class", "sector", "sector_etf", "theme"]
    merged = pd.concat([master[descriptive + ["in_master"]], alpha[descriptive + ["in_alpha76"]]], ignore_index=True)
    merged = merged.groupby("ticker", sort=True, as_index=False).agg(
        {
            "name": "first",
            "asset_class": "first",
            "sector": "first",
            "sector_etf": "first",
            "theme": "first",
            "in_master": "any",
            "in_alpha76": "any",
        }
    )
    merged["role"] = ""
    cross = cross.assign(sector="", sector_etf="", theme="", in_master=False, in_alpha76=False)
    frame = pd.concat([merged, cross[list(UNIVERSE_COLUMNS)]], ignore_index=True)
    frame = frame.replace({"": None})
    frame[["in_master", "in_alpha76"]] = frame[["in_master", "in_alpha76"]].fillna(False).astype(bool)
    return frame.loc[:, list(UNIVERSE_COLUMNS)].sort_values("ticker", ignore_index=True)


def select_tickers(universe: pd.DataFrame, which: str = "all", tickers: list[str] | None = None) -> list[str]:
    """Tickers of one list ('all', 'master', 'alpha76', 'cross_asset'), or the named `tickers` checked
    against the universe (raises `UnknownTickerError` naming the unknown ones)."""
    if tickers:
        wanted = [t.strip().upper() for t in tickers if t.strip()]
        unknown = sorted(set(wanted) - set(universe["ticker"]))
        if unknown:
            raise UnknownTickerError(
                f"Unknown ticker(s): {', '.join(unknown)}. They are not in the universe seeds "
                "(seeds/universe_*.csv): add them there, or pass --allow-unknown to fetch them anyway."
            )
        return wanted
    if which == "all":
        chosen = universe
    elif which == "master":
        chosen = universe[universe["in_master"]]
    elif which == "alpha76":
        chosen = universe[universe["in_alpha76"]]
    elif which == "cross_asset":
        chosen = universe[universe["role"].notna()]
    else:
        raise ValueError(f"unknown list {which!r}; expected one of {', '.join(LISTS)}")
    return list(chosen["ticker"])

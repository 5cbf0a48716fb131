"""The universe seeds: the counts the product promises, and every referenced sector ETF present."""

from __future__ import annotations

import pandas as pd
import pytest

from ingest.errors import UnknownTickerError
from ingest.universe import SEEDS_DIR, load_universe, select_tickers

SECTOR_ETFS = {"XLK", "XLF", "XLV", "XLY", "XLP", "XLE", "XLI", "XLB", "XLU", "XLRE", "XLC"}


def test_list_sizes_and_overlap():
    master = pd.read_csv(SEEDS_DIR / "universe_master.csv")
    alpha = pd.read_csv(SEEDS_DIR / "universe_alpha76.csv")
    assert len(master) == 94 and master["ticker"].is_unique
    assert len(alpha) == 76 and alpha["ticker"].is_unique
    assert len(set(master["ticker"]) & set(alpha["ticker"])) == 15
    assert len(set(master["ticker"]) | set(alpha["ticker"])) == 155


def test_master_list_composition():
    master = pd.read_csv(SEEDS_DIR / "universe_master.csv")
    assert set(master.loc[master["is_portfolio"], "ticker"]) == {"KDK", "HOOD", "BA", "WMT"}
    assert set(master.loc[master["is_recently_sold"], "ticker"]) == {"AAPL", "YYAI", "SERV"}
    etfs = set(master.loc[master["asset_class"] == "etf", "ticker"])
    assert etfs == {"SPY", "QQQ", "IWM", "DIA"} | SECTOR_ETFS
    assert (master["category"] == "small_mid_growth").sum() == 23


def test_alpha76_flags_and_themes():
    alpha = pd.read_csv(SEEDS_DIR / "universe_alpha76.csv")
    assert alpha["is_ark_held"].sum() == 42
    assert alpha["has_near_term_catalyst"].sum() == 23
    assert set(alpha["theme"]) == {"autonomous", "space", "biotech", "green_energy", "fintech", "software"}


def test_every_referenced_sector_etf_is_in_the_master_list():
    universe = load_universe()
    referenced = set(universe["sector_etf"].dropna())
    assert referenced == SECTOR_ETFS
    master_tickers = set(universe.loc[universe["in_master"], "ticker"])
    assert referenced <= master_tickers


def test_merged_universe_has_155_tickers_plus_cross_asset_series():
    universe = load_universe()
    assert universe["ticker"].is_unique
    assert (universe["in_master"] | universe["in_alpha76"]).sum() == 155
    assert set(universe.loc[universe["role"].notna(), "ticker"]) == {"^VIX", "^TNX", "BTC-USD"}
    assert len(universe) == 158


def test_select_tickers_rejects_unknown_names_in_one_sentence():
    universe = load_universe()
    assert select_tickers(universe, "alpha76") == sorted(universe.loc[universe["in_alpha76"], "ticker"])
    with pytest.raises(UnknownTickerError, match=r"Unknown ticker\(s\): NOPE\b"):
        select_tickers(universe, tickers=["AAPL", "nope"])

"""The dbt marts Python reads, by name: every read of a mart imports its name from here, so the contract between
dbt (`models/marts/`) and Python is written down once. dbt builds them; Python never writes them.

`fct_features` is a versioned model: `FEATURES` is the view of its latest version and `features_version(n)` the
table of version n (`marts.fct_features_v<n>`), which a trained model records and reads back.
"""

from __future__ import annotations

#: The 60 features of each (ticker, trade_date): the view of the latest version.
FEATURES = "marts.fct_features"
#: The stock-level features ranked within their day (`<feature>_xs_rank`).
FEATURE_RANKS = "marts.fct_feature_ranks"
#: The forward returns and labels of each (ticker, trade_date), with the day each becomes known.
LABELS = "marts.fct_labels"
#: Each label column and its horizon.
LABEL_DEFINITIONS = "marts.dim_labels"
#: The market state of each trade date (`regime_id`, 0-11, from the day before).
MARKET_REGIMES = "marts.fct_market_regimes"
#: Features, ranks, regime and labels of every row: the one place features meet labels.
TRAINING_EXAMPLES = "marts.fct_training_examples"
#: One row per ticker: the universe lists and price coverage.
TICKERS = "marts.dim_tickers"
#: The pooled signal edge of each volume-flow score, and the same per ticker.
SIGNAL_EDGE = "marts.fct_signal_edge"
SIGNAL_EDGE_BY_TICKER = "marts.fct_signal_edge_by_ticker"

#: The prefix of the versioned feature tables' names.
FEATURES_VERSION_PREFIX = "fct_features_v"


def features_version(version: int) -> str:
    """The table of version `version` of the feature mart: `marts.fct_features_v<version>`."""
    return f"marts.{FEATURES_VERSION_PREFIX}{int(version)}"

"""Reading features out of the store the way a feature store's client does (Feast's two calls): point-in-time
rows for any frame of (ticker, timestamp) entities, and the latest features of a list of tickers.

    from store.retrieval import FeatureStore

    with FeatureStore("warehouse/feature_store.duckdb") as features:
        rows = features.get_historical_features(entities, ["rsi_14", "ret_5d_xs_rank", "regime_id"])
        today = features.get_latest_features(["AAPL", "MSFT"])

What a row gets (the point-in-time rule):

- a **date** (a Date column: `datetime.date`, Polars `pl.Date`, Arrow `date32`) gets the features computed
  at the close of that date, or of the last trading day before it when the date has no row (a weekend, a
  holiday, a day the ticker did not trade);
- a **timestamp** (a Datetime column) gets the features of the last close **strictly before** it. The close
  is 16:00 New York time; a timestamp with a time zone is converted to New York time, a naive one is taken
  as New York time. So 2024-03-05 10:30 gets the close of 2024-03-04, 16:00:00 too (the close is not before
  it), 16:00:01 gets the close of 2024-03-05, and midnight gets the day before's.

Every entity row comes back once, in its order, with its columns, `feature_date` (the trade date the
features are from; NULL where the ticker has no row up to then) and the features asked for. Features are
the columns of `marts.fct_features` (the latest mart version, or `version=`), of `marts.fct_feature_ranks`
(`<feature>_xs_rank`) and of `marts.fct_market_regimes` (`regime_id`, `trend_state`, `vol_state`,
`volatility_level`, `volatility_source`: the market state the row's model would use). Labels and forward
returns are never features: asking for one is an error.

Rows come back as a Polars DataFrame (`output="polars"`, the default), a `pyarrow.Table` (`"arrow"`) or a
pandas DataFrame (`"pandas"`). DuckDB hands its result over as Arrow, and Polars takes Arrow without
copying it.

The store is opened read-only: a client never blocks `dbt build` or ingest for longer than one query, and
nothing it does can change the store. `python -m ml.daily` reads its features through this class.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from store.connection import connect, relation_columns, require_relation
from store.errors import StoreError
from store.marts import FEATURE_RANKS, FEATURES, LABELS, MARKET_REGIMES, features_version
from store.paths import database_path

OUTPUTS = ("polars", "arrow", "pandas")
#: The exchange's time zone and closing time: a timestamp sees the closes strictly before it.
EXCHANGE_TIME_ZONE = "America/New_York"
CLOSE_TIME = dt.time(16, 0)
KEY = ("ticker", "trade_date")
#: Columns that look ahead (the label's inputs): never returned as features.
FORBIDDEN_PREFIXES = ("label_", "fwd_")
_ENTITY_ROW = "__entity_row"
_CUTOFF = "__cutoff_date"


class FeatureRequestError(StoreError):
    """A request the store cannot answer: an unknown or forbidden feature, or entities of the wrong shape."""


class FeatureStore:
    """A read-only client of the feature store's marts (see the module docstring for the point-in-time rule).

    Parameters
    ----------
    path
        the DuckDB file (default: `--db` / `$FEATURE_STORE_DB` / `warehouse/feature_store.duckdb`,
        as every command resolves it).
    connection
        an open connection to use instead of `path` (the caller keeps it open; `close` leaves it).
    version
        the version of `fct_features` to read (`marts.fct_features_v<version>`); None reads the view
        `marts.fct_features`, the latest version.
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        connection: duckdb.DuckDBPyConnection | None = None,
        version: int | None = None,
    ) -> None:
        if connection is not None and path is not None:
            raise FeatureRequestError("FeatureStore: pass a path or a connection, not both.")
        self._owned = connection is None
        self._connection = connection if connection is not None else connect(database_path(path), read_only=True)
        self._features = FEATURES if version is None else features_version(version)
        self._columns: dict[str, str] | None = None

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        """Close the connection this client opened (one it was given stays open)."""
        if self._owned:
            self._connection.close()

    def __enter__(self) -> FeatureStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ what there is

    @property
    def features_relation(self) -> str:
        """The relation features are read from (`marts.fct_features` or `marts.fct_features_v<version>`)."""
        return self._features

    def list_features(self) -> list[str]:
        """Every feature name the store can return, in mart order: features, their ranks, the regime columns."""
        return list(self._feature_relations())

    def _feature_relations(self) -> dict[str, str]:
        """{feature name: the relation it is read from}, looked up once per client."""
        if self._columns is None:
            columns: dict[str, str] = {}
            for relation in (self._features, FEATURE_RANKS, MARKET_REGIMES):
                require_relation(self._connection, relation, "run `dbt build` first")
                for name in relation_columns(self._connection, relation):
                    if name not in KEY and not name.startswith(FORBIDDEN_PREFIXES):
                        columns.setdefault(name, relation)
            self._columns = columns
        return self._columns

    def _resolve(self, features: Iterable[str] | None) -> list[str]:
        available = self._feature_relations()
        if features is None:
            return [name for name, relation in available.items() if relation == self._features]
        if isinstance(features, str):
            features = [features]
        names = list(dict.fromkeys(features))
        forbidden = [name for name in names if name.startswith(FORBIDDEN_PREFIXES)]
        if forbidden:
            raise FeatureRequestError(
                f"FeatureStore: {', '.join(forbidden)} look(s) into the future (a label or forward return), never "
                f"a feature; read labels with SQL from {LABELS}."
            )
        unknown = [name for name in names if name not in available]
        if unknown:
            raise FeatureRequestError(
                f"FeatureStore: no feature named {', '.join(unknown)}; FeatureStore.list_features() lists the "
                f"{len(available)} there are."
            )
        if not names:
            raise FeatureRequestError("FeatureStore: ask for at least one feature (or None for all of fct_features).")
        return names

    # ------------------------------------------------------------------ retrieval

    def get_historical_features(
        self,
        entities: Any,
        features: Sequence[str] | None = None,
        *,
        timestamp_column: str = "timestamp",
        output: str = "polars",
        ttl: dt.timedelta | None = None,
    ) -> Any:
        """Point-in-time features for every row of `entities` (module docstring).

        Parameters
        ----------
        entities
            a Polars or pandas DataFrame or an Arrow table with a `ticker` column and a date or
            timestamp column `timestamp_column`; other columns come back unchanged.
        features
            feature names (`list_features()`); None: every column of `fct_features`.
        timestamp_column
            the column holding each row's date or timestamp.
        output
            'polars' (default), 'arrow' or 'pandas'.
        ttl
            how old features may be (whole days, as Feast's feature-view TTL): a row whose last close on or
            before its cutoff is more than `ttl` before the cutoff gets NULL features and `feature_date`.
            None: any age. A TTL also lets the store read only the rows it can return, which is faster
            (`ttl=timedelta(0)`: the features of the cutoff date itself, or NULL).

        Raises
        ------
        FeatureRequestError
            an unknown or look-ahead feature, missing columns, a timestamp column that
            holds neither dates nor timestamps, or NULL tickers or timestamps.
        """
        _check_output(output)
        names = self._resolve(features)
        table = _entity_table(entities, timestamp_column)
        table = table.append_column(_ENTITY_ROW, pa.array(range(table.num_rows), type=pa.int64()))
        table = table.append_column(_CUTOFF, _cutoff_dates(table.column(timestamp_column)))
        relation = self._connection.from_arrow(table)
        source = self._feature_source(names)
        entity_columns = ", ".join(
            f"entities.{_quote(name)}" for name in table.column_names if name not in (_ENTITY_ROW, _CUTOFF)
        )
        selected = ["features.trade_date as feature_date", *(f"features.{_quote(name)}" for name in names)]
        if ttl is not None:
            if ttl < dt.timedelta(0) or ttl % dt.timedelta(days=1):
                raise FeatureRequestError(f"FeatureStore: ttl must be a whole, non-negative number of days, got {ttl}.")
            first_cutoff = pc.min(table.column(_CUTOFF)).as_py()
            if first_cutoff is not None:
                earliest = (first_cutoff - ttl).isoformat()
                source = f"select * from ({source}) as unaged where unaged.trade_date >= date '{earliest}'"
            fresh = f"features.trade_date >= entities.{_CUTOFF} - {ttl.days}"
            selected = [
                f"case when {fresh} then features.trade_date end as feature_date",
                *(f"case when {fresh} then features.{_quote(name)} end as {_quote(name)}" for name in names),
            ]
        query = f"""
            select {entity_columns}, {", ".join(selected)}
            from entities
            asof left join ({source}) as features
                on entities.ticker = features.ticker and entities.{_CUTOFF} >= features.trade_date
            order by entities.{_ENTITY_ROW}
        """
        result = relation.query("entities", query).to_arrow_table()
        return _convert(result, output)

    def get_latest_features(
        self,
        tickers: Iterable[str] | None = None,
        features: Sequence[str] | None = None,
        *,
        as_of: dt.date | None = None,
        output: str = "polars",
    ) -> Any:
        """The most recent features of each ticker (all of the mart's when `tickers` is None), up to and
        including `as_of` when given: one row per ticker that has any, with `ticker`, `feature_date` and the
        features, ordered by ticker. A ticker without a row is left out (compare `feature_date` with the
        day you expect: a ticker that stopped trading keeps its last row)."""
        _check_output(output)
        names = self._resolve(features)
        if isinstance(tickers, str):
            tickers = [tickers]
        wanted = None if tickers is None else sorted(set(tickers))
        filters, params = [], []
        if wanted is not None:
            filters.append("features.ticker in (select unnest(?::varchar[]))")
            params.append(wanted)
        if as_of is not None:
            filters.append("features.trade_date <= ?")
            params.append(as_of)
        where = f"where {' and '.join(filters)}" if filters else ""
        query = f"""
            select features.ticker, features.trade_date as feature_date, {_select(names, "features")}
            from ({self._feature_source(names)}) as features
            {where}
            qualify row_number() over (partition by features.ticker order by features.trade_date desc) = 1
            order by features.ticker
        """
        result = self._connection.sql(query, params=params).to_arrow_table()
        return _convert(result, output)

    def _feature_source(self, names: list[str]) -> str:
        """A select of the key and `names` from the relations they live in (fct_features always: it defines
        which (ticker, trade_date) rows exist)."""
        relations = self._feature_relations()
        select = ["base.ticker", "base.trade_date"]
        joins = []
        aliases = {self._features: "base", FEATURE_RANKS: "ranks", MARKET_REGIMES: "regimes"}
        for name in names:
            select.append(f"{aliases[relations[name]]}.{_quote(name)}")
        needed = {relations[name] for name in names}
        if FEATURE_RANKS in needed:
            on = "base.ticker = ranks.ticker and base.trade_date = ranks.trade_date"
            joins.append(f"left join {FEATURE_RANKS} as ranks on {on}")
        if MARKET_REGIMES in needed:
            joins.append(f"left join {MARKET_REGIMES} as regimes on base.trade_date = regimes.trade_date")
        return f"select {', '.join(select)} from {self._features} as base {' '.join(joins)}"


# ---------------------------------------------------------------------- helpers


def _check_output(output: str) -> None:
    if output not in OUTPUTS:
        raise FeatureRequestError(f"FeatureStore: output must be one of {', '.join(OUTPUTS)}; got {output!r}.")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _select(names: Sequence[str], alias: str) -> str:
    return ", ".join(f"{alias}.{_quote(name)}" for name in names)


def _entity_table(entities: Any, timestamp_column: str) -> pa.Table:
    """The entities as an Arrow table (Polars and pyarrow without a copy), with the columns checked."""
    if isinstance(entities, pa.Table):
        table = entities
    elif hasattr(entities, "to_arrow") and type(entities).__module__.startswith("polars"):
        table = entities.to_arrow()
    else:
        if not isinstance(entities, pd.DataFrame):
            raise FeatureRequestError(
                "FeatureStore: entities must be a Polars or pandas DataFrame or an Arrow table; got "
                f"{type(entities).__name__}."
            )
        table = pa.Table.from_pandas(entities, preserve_index=False)
    missing = [name for name in ("ticker", timestamp_column) if name not in table.column_names]
    if missing:
        raise FeatureRequestError(
            f"FeatureStore: the entities have no column {', '.join(missing)}; they need 'ticker' and the date or "
            f"timestamp of each row (timestamp_column={timestamp_column!r})."
        )
    clashes = [name for name in table.column_names if name in ("feature_date", _ENTITY_ROW, _CUTOFF)]
    if clashes:
        raise FeatureRequestError(
            f"FeatureStore: rename the entities' column {', '.join(clashes)}: the result uses that name."
        )
    for name in ("ticker", timestamp_column):
        if table.column(name).null_count:
            raise FeatureRequestError(f"FeatureStore: {table.column(name).null_count} entity row(s) have no {name}.")
    ticker_type = table.column("ticker").type
    if not (pa.types.is_string(ticker_type) or pa.types.is_large_string(ticker_type)):
        raise FeatureRequestError("FeatureStore: the entities' ticker column must hold strings.")
    return table


def _cutoff_dates(column: pa.ChunkedArray) -> pa.Array:
    """The last trade date whose close each row may see: the date itself for dates; for timestamps, the date
    in New York time when the time is after the 16:00 close, else the day before."""
    kind = column.type
    if pa.types.is_date(kind):
        return pc.cast(column, pa.date32()).combine_chunks()
    if not pa.types.is_timestamp(kind):
        raise FeatureRequestError(
            f"FeatureStore: the timestamp column holds {kind}; it must hold dates or timestamps (a string column "
            "needs parsing first)."
        )
    local = column
    if kind.tz is not None:
        local = pc.local_timestamp(pc.cast(column, pa.timestamp(kind.unit, EXCHANGE_TIME_ZONE)))
    day = pc.cast(pc.floor_temporal(local, unit="day"), pa.timestamp(kind.unit))
    after_close = pc.greater(
        pc.subtract(pc.cast(local, pa.timestamp(kind.unit)), day),
        pa.scalar(dt.timedelta(hours=CLOSE_TIME.hour, minutes=CLOSE_TIME.minute), pa.duration(kind.unit)),
    )
    dates = pc.cast(day, pa.date32())
    previous = pc.cast(pc.subtract(day, pa.scalar(dt.timedelta(days=1), pa.duration(kind.unit))), pa.date32())
    return pc.if_else(after_close, dates, previous).combine_chunks()


def _convert(table: pa.Table, output: str) -> Any:
    if output == "arrow":
        return table
    if output == "pandas":
        return table.to_pandas()
    import polars as pl

    return pl.from_arrow(table)


__all__ = ["CLOSE_TIME", "EXCHANGE_TIME_ZONE", "FeatureRequestError", "FeatureStore", "OUTPUTS"]

"""The tables Python owns, and the one function that creates them.

dbt owns the schemas it builds (staging, intermediate, marts, seeds); Python owns three:

- `raw` (written by `python -m ingest`): the loaded datasets (`RAW_DATASETS`: prices, sentiment, earnings,
  analyst_actions, insider_trades; each row remembers the run, file and line that last changed it),
  `rejects` (quarantined input rows with the rule they broke), and the run log: `ingest_runs`,
  `ingest_run_datasets`, `ingest_files`, `validation_results`.
- `ml` (written by `python -m ml.train`): `models`, `metrics`, `feature_importance`, `selected_features`,
  `calibrators`, `drift_baselines`, `tuning`, `model_status` (each model's status changes: champion,
  challenger, retired, rejected, with the reason); and by `python -m ml.daily`: `predictions` (each day's scores
  and, once known, their outcomes), `live_calibration` (the live calibrator of each model as of each day),
  `live_performance` (rolling live metrics as of each day), `drift_thresholds` (each model's PSI threshold per
  feature, from its training window), `drift_checks` (per feature and day: PSI, KS D, threshold, verdict) and
  `daily_runs`.
- `analysis` (written by `python -m ml.backtest`): `runs`, `verdicts`, `signal_edge`, `factor_summary`,
  `factor_daily`, `factor_quantiles`, `backtest_daily`, `backtest_tranches`, `backtest_summary`, `reliability`.

`create_tables(connection, schema)` runs that schema's `create ... if not exists` statements (idempotent);
call it inside the writer's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb


@dataclass(frozen=True)
class Dataset:
    """A raw table: its key and its value columns (compared to decide whether a reload changed a row)."""

    name: str
    key: tuple[str, ...]
    values: tuple[str, ...]
    column_types: dict[str, str]

    @property
    def columns(self) -> tuple[str, ...]:
        return self.key + self.values


RAW_DATASETS: dict[str, Dataset] = {
    "prices": Dataset(
        name="prices",
        key=("ticker", "trade_date"),
        values=("open", "high", "low", "close", "adj_close", "volume"),
        column_types={
            "ticker": "varchar",
            "trade_date": "date",
            "open": "double",
            "high": "double",
            "low": "double",
            "close": "double",
            "adj_close": "double",
            "volume": "double",
        },
    ),
    "sentiment": Dataset(
        name="sentiment",
        key=("ticker", "trade_date"),
        values=("sentiment_score", "article_count"),
        column_types={
            "ticker": "varchar",
            "trade_date": "date",
            "sentiment_score": "double",
            "article_count": "double",
        },
    ),
    "earnings": Dataset(
        name="earnings",
        key=("ticker", "announce_date"),
        values=("announce_timing", "eps_estimate", "eps_actual", "surprise_pct"),
        column_types={
            "ticker": "varchar",
            "announce_date": "date",
            "announce_timing": "varchar",
            "eps_estimate": "double",
            "eps_actual": "double",
            "surprise_pct": "double",
        },
    ),
    "analyst_actions": Dataset(
        name="analyst_actions",
        key=("ticker", "action_date", "firm"),
        values=("action", "from_grade", "to_grade"),
        column_types={
            "ticker": "varchar",
            "action_date": "date",
            "firm": "varchar",
            "action": "varchar",
            "from_grade": "varchar",
            "to_grade": "varchar",
        },
    ),
    "insider_trades": Dataset(
        name="insider_trades",
        key=("ticker", "transaction_date", "insider", "transaction", "shares"),
        values=("announce_date", "position", "value"),
        column_types={
            "ticker": "varchar",
            "transaction_date": "date",
            "insider": "varchar",
            "transaction": "varchar",
            "shares": "double",
            "announce_date": "date",
            "position": "varchar",
            "value": "double",
        },
    ),
}

_PROVENANCE_COLUMNS = "source varchar not null, source_file varchar, line_number bigint, run_id varchar not null"

RAW_LOG_DDL = """
create table if not exists raw.ingest_runs (
    run_id varchar primary key,
    source varchar not null,
    arguments varchar,
    started_at timestamp not null,
    finished_at timestamp,
    status varchar not null,
    rows_read bigint,
    rows_loaded bigint,
    rows_rejected bigint,
    rows_inserted bigint,
    rows_updated bigint,
    rows_unchanged bigint,
    files_read bigint,
    files_failed bigint,
    message varchar,
    pid bigint,
    host varchar,
    process_started varchar
);
create table if not exists raw.ingest_run_datasets (
    run_id varchar not null,
    dataset varchar not null,
    rows_read bigint not null,
    rows_loaded bigint not null,
    rows_rejected bigint not null,
    rows_inserted bigint not null,
    rows_updated bigint not null,
    rows_unchanged bigint not null,
    primary key (run_id, dataset)
);
create table if not exists raw.ingest_files (
    run_id varchar not null,
    source_file varchar not null,
    status varchar not null,
    rows_read bigint not null,
    message varchar,
    primary key (run_id, source_file)
);
create table if not exists raw.validation_results (
    run_id varchar not null,
    dataset varchar not null,
    rule varchar not null,
    expectation varchar not null,
    column_names varchar,
    success boolean not null,
    element_count bigint,
    unexpected_count bigint
);
create table if not exists raw.rejects (
    reject_id varchar primary key,
    run_id varchar not null,
    source varchar not null,
    dataset varchar not null,
    source_file varchar,
    line_number bigint,
    ticker varchar,
    record_date varchar,
    rule varchar not null,
    detail varchar,
    record varchar,
    rejected_at timestamp not null
);
"""


def dataset_ddl(dataset: Dataset) -> str:
    """`create table if not exists` for one raw dataset."""
    columns = ", ".join(
        f"{name} {dataset.column_types[name]}{' not null' if name in dataset.key else ''}" for name in dataset.columns
    )
    key = ", ".join(dataset.key)
    return f"create table if not exists raw.{dataset.name} ({columns}, {_PROVENANCE_COLUMNS}, primary key ({key}))"


ML_DDL = """
create schema if not exists ml;
create table if not exists ml.models (
    model_id varchar primary key,
    run_id varchar not null,
    created_at timestamp not null,
    mart_version varchar not null,
    data_fingerprint varchar not null,
    random_state integer,
    device_requested varchar not null,
    device_used varchar not null,
    features varchar not null,
    params varchar not null,
    library_versions varchar not null,
    artifacts varchar not null,
    splits varchar not null,
    training_seconds double
);
create table if not exists ml.metrics (
    model_id varchar not null,
    split varchar not null,
    metric varchar not null,
    value double,
    primary key (model_id, split, metric)
);
create table if not exists ml.feature_importance (
    model_id varchar not null,
    feature varchar not null,
    importance double not null,
    importance_rank integer not null,
    primary key (model_id, feature)
);
create table if not exists ml.selected_features (
    model_id varchar not null,
    feature varchar not null,
    selected boolean not null,
    selection_rank integer,
    importance double,
    reason varchar,
    primary key (model_id, feature)
);
create table if not exists ml.calibrators (
    model_id varchar primary key,
    method varchar not null,
    state varchar not null,
    ece_before double,
    ece_after double
);
create table if not exists ml.tuning (
    model_id varchar not null,
    candidate varchar not null,
    fold integer not null,
    params varchar not null,
    chosen boolean not null,
    train_rows bigint not null,
    validation_rows bigint not null,
    train_first_date date,
    train_last_date date,
    validation_first_date date,
    validation_last_date date,
    auc double,
    primary key (model_id, candidate, fold)
);
create table if not exists ml.drift_baselines (
    model_id varchar not null,
    feature varchar not null,
    baseline varchar not null,
    primary key (model_id, feature)
);
create table if not exists ml.model_status (
    event integer primary key,
    model_id varchar not null,
    status varchar not null,
    effective_date date not null,
    source varchar not null,
    reason varchar not null,
    recorded_at timestamp not null
);
create table if not exists ml.predictions (
    model_id varchar not null,
    trade_date date not null,
    ticker varchar not null,
    regime_id integer,
    raw_probability double not null,
    calibrated_probability double not null,
    rank_in_day integer not null,
    names_in_day integer not null,
    observation_id bigint not null,
    scored_at timestamp not null,
    label_known_date date,
    outcome integer,
    outcome_return double,
    resolved_on date,
    voided_on date,
    primary key (model_id, trade_date, ticker)
);
create table if not exists ml.live_calibration (
    model_id varchar not null,
    as_of_date date not null,
    method varchar not null,
    window_rows bigint not null,
    pending_rows bigint not null,
    resolved_total bigint not null,
    automatic_fits integer not null,
    refitted boolean not null,
    state varchar not null,
    primary key (model_id, as_of_date)
);
create table if not exists ml.live_performance (
    model_id varchar not null,
    as_of_date date not null,
    window_days integer not null,
    first_trade_date date,
    last_trade_date date,
    rows bigint not null,
    base_rate double,
    auc double,
    auc_se double,
    rank_ic double,
    rank_ic_t double,
    top_decile_hit_rate double,
    top_decile_rows bigint,
    ece double,
    log_loss double,
    primary key (model_id, as_of_date)
);
create table if not exists ml.drift_thresholds (
    model_id varchar not null,
    feature varchar not null,
    training_blocks integer not null,
    training_max_psi double not null,
    threshold double not null,
    primary key (model_id, feature)
);
create table if not exists ml.drift_checks (
    model_id varchar not null,
    as_of_date date not null,
    feature varchar not null,
    window_first_date date not null,
    rows bigint not null,
    psi double,
    ks_d double,
    threshold double not null,
    drifted boolean not null,
    triggered boolean not null,
    primary key (model_id, as_of_date, feature)
);
create table if not exists ml.daily_runs (
    run_date date primary key,
    model_id varchar not null,
    mode varchar not null,
    started_at timestamp not null,
    finished_at timestamp not null,
    scored bigint not null,
    resolved bigint not null,
    calibration_method varchar not null,
    drifted_share double,
    drift_triggered boolean,
    seconds double not null,
    retrain_mode varchar,
    retrain_reason varchar,
    trained_model_id varchar
);
"""

ANALYSIS_DDL = """
create schema if not exists analysis;
create table if not exists analysis.runs (
    run_id varchar primary key,
    created_at timestamp not null,
    model_id varchar not null,
    model_data_matches boolean not null,
    cost_bps double not null,
    top_fraction double not null,
    quantiles integer not null,
    test_first_date date not null,
    test_last_date date not null,
    settings varchar not null,
    report_path varchar,
    seconds double
);
create table if not exists analysis.verdicts (
    run_id varchar not null,
    position integer not null,
    question varchar not null,
    answer boolean,
    detail varchar not null,
    primary key (run_id, position)
);
create table if not exists analysis.signal_edge (
    run_id varchar not null,
    score_name varchar not null,
    threshold double,
    horizon_days integer,
    n_days bigint,
    n_high bigint,
    n_low bigint,
    mean_high double,
    mean_low double,
    edge double,
    standard_error double,
    t_stat double,
    tickers bigint,
    tickers_with_edge bigint,
    tickers_positive bigint,
    share_tickers_positive double,
    tickers_significant_positive bigint,
    tickers_significant_negative bigint,
    primary key (run_id, score_name)
);
create table if not exists analysis.factor_summary (
    run_id varchar not null,
    factor_set varchar not null,
    factor varchar not null,
    days bigint,
    ic_mean double,
    ic_std double,
    ic_t double,
    icir double,
    rank_ic_mean double,
    rank_ic_std double,
    rank_ic_t double,
    rank_icir double,
    top_minus_bottom double,
    top_minus_bottom_t double,
    top_turnover double,
    top_turnover_horizon double,
    primary key (run_id, factor_set, factor)
);
create table if not exists analysis.factor_daily (
    run_id varchar not null,
    factor_set varchar not null,
    factor varchar not null,
    trade_date date not null,
    names bigint,
    ic double,
    rank_ic double,
    top_minus_bottom double,
    top_turnover double
);
create table if not exists analysis.factor_quantiles (
    run_id varchar not null,
    factor_set varchar not null,
    factor varchar not null,
    quantile integer not null,
    mean_return double,
    days bigint
);
create table if not exists analysis.backtest_daily (
    run_id varchar not null,
    portfolio varchar not null,
    trade_date date not null,
    gross_return double,
    net_return double,
    turnover double,
    cost double,
    invested double,
    nav_gross double,
    nav_net double,
    primary key (run_id, portfolio, trade_date)
);
create table if not exists analysis.backtest_tranches (
    run_id varchar not null,
    portfolio varchar not null,
    signal_date date not null,
    names bigint,
    tranche_return double
);
create table if not exists analysis.backtest_summary (
    run_id varchar not null,
    portfolio varchar not null,
    days double,
    cumulative_return double,
    annual_return double,
    annual_volatility double,
    sharpe double,
    max_drawdown double,
    positive_days double,
    hit_rate double,
    beat_benchmark_rate double,
    mean_turnover double,
    primary key (run_id, portfolio)
);
create table if not exists analysis.reliability (
    run_id varchar not null,
    probability varchar not null,
    bin integer not null,
    rows bigint,
    mean_predicted double,
    observed_rate double,
    lower double,
    upper double
);
"""


def _raw_ddl() -> str:
    statements = ["create schema if not exists raw"]
    statements += [dataset_ddl(dataset) for dataset in RAW_DATASETS.values()]
    return ";\n".join(statements) + ";\n" + RAW_LOG_DDL


#: Each Python-owned schema's `create ... if not exists` statements, separated by semicolons.
DDL: dict[str, str] = {"raw": _raw_ddl(), "ml": ML_DDL, "analysis": ANALYSIS_DDL}

#: Columns added after a table was first released: (schema, table, column, type). A database created before
#: gets them when it is next opened for writing; its old rows hold NULL there.
ADDED_COLUMNS: tuple[tuple[str, str, str, str], ...] = (
    ("raw", "ingest_runs", "pid", "bigint"),
    ("raw", "ingest_runs", "host", "varchar"),
    ("raw", "ingest_runs", "process_started", "varchar"),
    ("ml", "predictions", "voided_on", "date"),
    ("ml", "daily_runs", "retrain_mode", "varchar"),
    ("ml", "daily_runs", "retrain_reason", "varchar"),
    ("ml", "daily_runs", "trained_model_id", "varchar"),
)


def create_tables(connection: duckdb.DuckDBPyConnection, schema: str) -> None:
    """Create `schema` ('raw', 'ml' or 'analysis') and its tables if they do not exist.

    Runs inside the caller's transaction, if any; statements run one by one (DuckDB would auto-commit a
    multi-statement string).
    """
    if schema not in DDL:
        raise ValueError(f"unknown schema {schema!r}: use one of {', '.join(DDL)}")
    for statement in (part.strip() for part in DDL[schema].split(";")):
        if statement:
            connection.execute(statement)
    for table_schema, table, column, sql_type in ADDED_COLUMNS:
        if table_schema != schema:
            continue
        # Only when missing: an ALTER, even a no-op one, would change the catalog under a concurrent writer.
        present = connection.execute(
            "select count(*) from duckdb_columns() where database_name = current_database() "
            "and schema_name = ? and table_name = ? and column_name = ?",
            [table_schema, table, column],
        ).fetchall()[0][0]
        if not present:
            connection.execute(f"alter table {table_schema}.{table} add column {column} {sql_type}")

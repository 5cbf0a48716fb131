"""Validation: parse raw input rows, check them against the rules, and split accepted from rejected.

Three stages, in this order, each assigning a rejected row exactly one rule (the first it breaks):

1. **Parse** (DuckDB SQL): cast every column to its type. A value that is present but does not parse
   (`unparseable_date`, `unparseable_number`) or a missing key (`missing_date`) rejects the row here.
2. **Rules** (great-expectations, GX Core 1.x): the expectation suite of the dataset runs on the parsed
   batch with `result_format=COMPLETE`, so every failing row is named by its `row_id`. The rules below
   are listed in priority order; a row that breaks several is filed under the first.
3. **Duplicates** (SQL): of several valid rows with the same key, the first in input order is kept and
   the others are rejected as `duplicate_key`, naming the line that was kept.

Nothing is dropped: `rows_read == len(accepted) + len(rejects)` always (asserted before returning).
Validation is pure: it uses an in-memory DuckDB, never the warehouse, so it holds no lock.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from ingest.frames import FRAME_COLUMNS
from store import RAW_DATASETS, Dataset

TICKER_PATTERN = r"^[A-Z0-9\^][A-Z0-9.\^=_\-]{0,19}$"
PRICE_FIELDS = ("open", "high", "low", "close")
DATE_FIELDS = {
    "prices": "trade_date",
    "sentiment": "trade_date",
    "earnings": "announce_date",
    "analyst_actions": "action_date",
    "insider_trades": "transaction_date",
}
ANALYST_ACTIONS = ("upgrade", "downgrade", "init", "maintain", "reiterate")
INSIDER_TRANSACTIONS = ("buy", "sell", "other")
EARNINGS_TIMINGS = ("bmo", "amc", "unknown")

# Limits of `implausible_value`: values that parse and are finite, but that no market has quoted. They sit far
# outside anything real so that no true quote or volume is quarantined; what they catch is garbage (1e308, a
# denormal, a unit or exponent typo), which otherwise reaches dbt and breaks it (overflow, `std::exception`).
#: The highest share price ever quoted is Berkshire Hathaway A, about 6e5 USD (7.5e5 in 2024); index levels
#: stay below 1e5 and won-quoted Korean shares below 5e6 KRW. 1e9 leaves a factor of more than 1,000. (A
#: split-adjusted history of a serial reverse splitter, as some data vendors compute it, can exceed it: those
#: rows are quarantined with this limit in their detail, not silently dropped.)
MAX_PRICE = 1e9
#: The smallest quotes are sub-penny OTC shares at the 0.0001 USD tick and micro-priced crypto tokens near 1e-9
#: USD; a positive price below 1e-12 is an artefact (a denormal, a mis-scaled unit).
MIN_PRICE = 1e-12
#: The busiest share volumes are about 1e10 a day (and Yahoo's BTC-USD "volume", in USD, peaked near 3.5e11; the
#: shared S&P 500 and market sets peak at 4.5e10). 1e13 is 30 times above the largest of these.
MAX_VOLUME = 1e13
#: A close that jumps more than this factor from BOTH neighbouring trading days (a one-day spike: up and back) is
#: not a market move. Real moves with no way back are splits and reverse splits, and those are level shifts, not
#: spikes; the largest ratios are 1:250 (serial reverse splitters) and rare 1:10,000 going-private reverse
#: splits. At the first or last row of a series only one neighbour exists, so a move there is judged against the
#: limit alone (when that neighbour agrees with its own neighbour): 1e5 stays above every real split ratio.
MAX_DAY_MOVE = 1e5
#: No exchange data is older (the NYSE opened in 1792); earlier dates are typos such as 1200-01-01 or 0020-01-02.
MIN_DATE = dt.date(1800, 1, 1)


@dataclass(frozen=True)
class Rule:
    """One validation rule: a name users see in `raw.rejects.rule`, and the GX expectations that check it."""

    name: str
    description: str
    expectations: Callable[[dt.date], list]  # today -> GX expectation objects
    #: SQL over the parsed row giving its own detail (the value and the limit it broke); else `description`.
    detail_sql: str | None = None


@dataclass
class RuleResult:
    """The outcome of one expectation on one batch (stored in `raw.validation_results`)."""

    rule: str
    expectation: str
    column_names: str
    success: bool
    element_count: int
    unexpected_count: int


@dataclass
class Validated:
    """A validated batch: typed accepted rows, rejected rows with reasons, and the expectation results."""

    dataset: Dataset
    rows_read: int
    accepted: pa.Table
    rejects: pa.Table
    results: list[RuleResult] = field(default_factory=list)

    @property
    def rows_rejected(self) -> int:
        return self.rejects.num_rows

    @property
    def rows_accepted(self) -> int:
        return self.accepted.num_rows


def _gx():
    # Imported lazily: it takes seconds, and only validation needs it. Analytics would try the network.
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    if "great_expectations" in sys.modules or "pyspark" in sys.modules:
        import great_expectations as gx

        return gx
    # With the scale extra installed, great_expectations imports pyspark when it is imported, and pyspark's
    # pyspark.sql.connect calls sys.exit(0) in a process started with `python -c` (it takes that for its own
    # doctests): an ingest run from `python -c` stopped silently with exit 0. It also warned about pandas 3
    # and took 0.3 s. Validation never uses Spark: great_expectations is imported with pyspark hidden (it
    # treats an ImportError as "not installed"), and pyspark stays importable afterwards.
    sys.modules["pyspark"] = None  # type: ignore[assignment]
    try:
        import great_expectations as gx
    finally:
        del sys.modules["pyspark"]
    return gx


def rules_for(dataset: str) -> list[Rule]:
    """The rules of one dataset, in priority order: those every dataset has, then its own."""
    rules = _RuleBook(dataset)
    own = {
        "prices": rules.prices,
        "sentiment": rules.sentiment,
        "earnings": rules.earnings,
        "analyst_actions": rules.analyst_actions,
        "insider_trades": rules.insider_trades,
    }
    if dataset not in own:
        raise ValueError(f"unknown dataset {dataset!r}; expected one of {', '.join(RAW_DATASETS)}")
    return rules.common() + own[dataset]()


class _RuleBook:
    """The rules of one dataset, built from great_expectations' expectations; each rule's expectations are
    made for the day of the run (`today`), which bounds the dates."""

    def __init__(self, dataset: str) -> None:
        self.expect = _gx().expectations
        self.date_field = DATE_FIELDS[dataset]
        self.date_fields = [c for c, t in RAW_DATASETS[dataset].column_types.items() if t == "date"]
        #: The SQL cases of a date before MIN_DATE, with the text of the reason.
        self.too_early = [
            (f"{c} < date '{MIN_DATE}'", f"'{c} ' || {c} || ' is before {MIN_DATE} (no market data is older)'")
            for c in self.date_fields
        ]

    # ------------------------------------------------------------------------------------------ building blocks

    def not_null(self, *columns: str) -> Callable[[dt.date], list]:
        return lambda today: [self.expect.ExpectColumnValuesToNotBeNull(column=c) for c in columns]

    def between(self, column: str, **limits: Any) -> Callable[[dt.date], list]:
        return lambda today: [self.expect.ExpectColumnValuesToBeBetween(column=column, **limits)]

    def one_of(self, column: str, values: tuple[str, ...]) -> Callable[[dt.date], list]:
        return lambda today: [self.expect.ExpectColumnValuesToBeInSet(column=column, value_set=list(values))]

    def early_dates(self, today: dt.date) -> list:
        return [
            self.expect.ExpectColumnValuesToBeBetween(column=c, min_value=pd.Timestamp(MIN_DATE))
            for c in self.date_fields
        ]

    def implausible(self, expected: Callable[[dt.date], list], cases: list[tuple[str, str]]) -> Rule:
        return Rule(
            "implausible_value",
            "a value is outside what any market has",
            expected,
            "case " + " ".join(f"when {condition} then {text}" for condition, text in cases) + " end",
        )

    def at_least(self, a: str, b: str):
        return self.expect.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A=a, column_B=b, or_equal=True, ignore_row_if="either_value_is_missing"
        )

    # ---------------------------------------------------------------------------------------------- the rules

    def common(self) -> list[Rule]:
        return [
            Rule("missing_ticker", "ticker is empty", self.not_null("ticker")),
            Rule(
                "bad_ticker",
                "ticker is not 1-20 letters, digits or ^.=_-",
                lambda today: [self.expect.ExpectColumnValuesToMatchRegex(column="ticker", regex=TICKER_PATTERN)],
            ),
            Rule(
                "future_date",
                f"{self.date_field} is after today",
                lambda today: [
                    self.expect.ExpectColumnValuesToBeBetween(column=self.date_field, max_value=pd.Timestamp(today))
                ],
            ),
        ]

    def prices(self) -> list[Rule]:
        price_columns = (*PRICE_FIELDS, "adj_close")

        def price_limits(today: dt.date) -> list:
            return [
                *self.early_dates(today),
                *(
                    self.expect.ExpectColumnValuesToBeBetween(column=c, min_value=MIN_PRICE, max_value=MAX_PRICE)
                    for c in price_columns
                ),
                self.expect.ExpectColumnValuesToBeBetween(column="volume", max_value=MAX_VOLUME),
                self.expect.ExpectColumnValuesToBeBetween(column="close_move", max_value=MAX_DAY_MOVE),
            ]

        limit_cases = [
            *self.too_early,
            *((f"{c} > {MAX_PRICE!r}", f"'{c} ' || {c} || ' exceeds {MAX_PRICE:g}'") for c in price_columns),
            *((f"{c} < {MIN_PRICE!r}", f"'{c} ' || {c} || ' is below {MIN_PRICE:g}'") for c in price_columns),
            ("volume > " + repr(MAX_VOLUME), f"'volume ' || volume || ' exceeds {MAX_VOLUME:g}'"),
            (
                f"close_move > {MAX_DAY_MOVE!r}",
                "'close ' || close || ' moved x' || printf('%.0f', close_move) || ' in one day "
                f"(limit x{MAX_DAY_MOVE:g})'",
            ),
        ]
        return [
            Rule("missing_price", "open, high, low or close is missing", self.not_null(*PRICE_FIELDS)),
            Rule(
                "non_positive_price",
                "a price is zero or negative",
                lambda today: [
                    self.expect.ExpectColumnValuesToBeBetween(column=c, min_value=0, strict_min=True)
                    for c in price_columns
                ],
            ),
            self.implausible(price_limits, limit_cases),
            Rule("high_below_low", "high is below low", lambda today: [self.at_least("high", "low")]),
            Rule(
                "ohlc_not_bracketed",
                "high/low do not bracket open and close",
                lambda today: [
                    self.at_least("high", "open"),
                    self.at_least("high", "close"),
                    self.at_least("open", "low"),
                    self.at_least("close", "low"),
                ],
            ),
            Rule("missing_volume", "volume is missing", self.not_null("volume")),
            Rule("negative_volume", "volume is negative", self.between("volume", min_value=0)),
        ]

    def sentiment(self) -> list[Rule]:
        return [
            Rule("missing_sentiment", "sentiment_score is missing", self.not_null("sentiment_score")),
            Rule(
                "sentiment_out_of_range",
                "sentiment_score is outside [-1, 1]",
                self.between("sentiment_score", min_value=-1, max_value=1),
            ),
            Rule("negative_count", "article_count is negative", self.between("article_count", min_value=0)),
            self.implausible(self.early_dates, self.too_early),
        ]

    def earnings(self) -> list[Rule]:
        return [
            Rule(
                "bad_timing",
                f"announce_timing is not one of {', '.join(EARNINGS_TIMINGS)}",
                self.one_of("announce_timing", EARNINGS_TIMINGS),
            ),
            self.implausible(self.early_dates, self.too_early),
        ]

    def analyst_actions(self) -> list[Rule]:
        return [
            Rule("missing_firm", "firm is empty", self.not_null("firm")),
            Rule(
                "bad_action",
                f"action is not one of {', '.join(ANALYST_ACTIONS)}",
                self.one_of("action", ANALYST_ACTIONS),
            ),
            self.implausible(self.early_dates, self.too_early),
        ]

    def insider_trades(self) -> list[Rule]:
        return [
            Rule("missing_insider", "insider is empty", self.not_null("insider")),
            Rule(
                "bad_transaction",
                f"transaction is not one of {', '.join(INSIDER_TRANSACTIONS)}",
                self.one_of("transaction", INSIDER_TRANSACTIONS),
            ),
            Rule("missing_shares", "shares is missing", self.not_null("shares")),
            Rule("negative_value", "value is negative", self.between("value", min_value=0)),
            self.implausible(self.early_dates, self.too_early),
        ]


def _parse_expression(column: str, sql_type: str, dataset: str) -> str:
    raw = f'"{column}"'
    text = f"nullif(trim(cast({raw} as varchar)), '')"
    if sql_type == "date":
        # Files carry ISO dates, timestamps ('2015-01-12 00:00:00') or US dates; typed frames carry dates.
        # DuckDB also reads the words 'infinity', '-infinity' and 'epoch' as dates, and years past 9999: a
        # calendar date starts with a digit and has a year Python can hold (1-9999). Anything else would break
        # every later step (pandas and great-expectations cannot compare it, and say nothing about which row).
        parsed = (
            f"coalesce(try_cast({text} as date), try_cast(try_cast({text} as timestamp) as date), "
            f"try_cast(try_strptime({text}, '%m/%d/%Y') as date))"
        )
        return (
            f"case when regexp_matches({text}, '^[0-9]') "
            f"and {parsed} between date '0001-01-01' and date '9999-12-31' then {parsed} end"
        )
    if sql_type == "double":
        # 'inf', 'NaN', 'Infinity' (any case) parse as doubles: they are caught as `non_finite_value` below.
        return f"try_cast({text} as double)"
    if column == "ticker":
        return f"upper({text})"
    if column in ("action", "transaction", "announce_timing"):
        lowered = f"lower({text})"
        return f"coalesce({lowered}, 'unknown')" if column == "announce_timing" else lowered
    return text


def _parse_checks(dataset: Dataset, date_field: str) -> str:
    """SQL CASE giving the parse-stage rule of a row (or NULL), in priority order."""
    raw_text = _raw_text
    cases = [f"when {raw_text(date_field)} is null then 'missing_date'"]
    cases.append(f"when parsed_{date_field} is null then 'unparseable_date'")
    for column, sql_type in dataset.column_types.items():
        if sql_type == "date" and column != date_field:
            cases.append(f"when {raw_text(column)} is not null and parsed_{column} is null then 'unparseable_date'")
        if sql_type == "double":
            cases.append(f"when {raw_text(column)} is not null and parsed_{column} is null then 'unparseable_number'")
    for column in _double_columns(dataset):
        cases.append(f"when not isfinite(parsed_{column}) then 'non_finite_value'")
    return "case " + " ".join(cases) + " end"


def _double_columns(dataset: Dataset) -> list[str]:
    return [column for column, sql_type in dataset.column_types.items() if sql_type == "double"]


def _raw_text(column: str) -> str:
    """SQL for a raw input value as trimmed text, NULL when missing or blank."""
    return f"nullif(trim(cast(\"{column}\" as varchar)), '')"


def _parse_detail(dataset: Dataset) -> str:
    """SQL naming the values that did not parse, e.g. `trade_date='2020-13-01'; `."""
    parts = [
        f"case when {_raw_text(c)} is not null and parsed_{c} is null then '{c}=' || {_raw_text(c)} || '; ' else '' end"
        for c, t in dataset.column_types.items()
        if t in ("date", "double")
    ]
    return " || ".join(parts)


def _non_finite_detail(dataset: Dataset) -> str:
    """SQL naming the values that parsed to infinity or NaN, e.g. `close=inf; `."""
    parts = [
        f"case when not isfinite(parsed_{c}) then '{c}=' || {_raw_text(c)} || '; ' else '' end"
        for c in _double_columns(dataset)
    ]
    return " || ".join(parts) or "''"


def _derived_columns(kind: str) -> str:
    """SQL adding the columns some rules need beyond the row itself (from table `parsed`), keyed by row_id.

    prices: `close_move`, the factor by which a close differs from its neighbouring trading days of the same
    ticker in this batch (see `MAX_DAY_MOVE`): the smaller of the two factors in the middle of a series, so a
    split (a level shift) scores low and only a spike that goes back scores high; at either end, the factor to
    the one neighbour, if that neighbour agrees with its own other neighbour (else there is no telling which
    of the two is wrong, and nothing is judged).
    """
    if kind != "prices":
        return "select row_id from parsed"

    def factor(a: str, b: str) -> str:
        return f"greatest({a} / {b}, {b} / {a})"

    return f"""
        with series as (
            select row_id, close as series_close,
                lag(close) over by_day as previous_close, lead(close) over by_day as next_close,
                lag(close, 2) over by_day as previous_close_2, lead(close, 2) over by_day as next_close_2
            from parsed
            where parse_rule is null and ticker is not null and close > 0
            window by_day as (partition by ticker order by trade_date, row_id)
        )
        select parsed.row_id, case
            when previous_close is not null and next_close is not null
                then least({factor("series_close", "previous_close")}, {factor("series_close", "next_close")})
            when previous_close_2 is not null and {factor("previous_close", "previous_close_2")} <= {MAX_DAY_MOVE!r}
                then {factor("series_close", "previous_close")}
            when next_close_2 is not null and {factor("next_close", "next_close_2")} <= {MAX_DAY_MOVE!r}
                then {factor("series_close", "next_close")}
        end as close_move
        from parsed left join series using (row_id)
    """


def validate(kind: str, frame: pd.DataFrame | pa.Table, *, today: dt.date | None = None) -> Validated:
    """Validate one source frame of `kind` ('prices', 'sentiment', ...); see the module docstring.

    Parameters
    ----------
    kind
        the dataset: a key of `ingest.frames.FRAME_COLUMNS`.
    frame
        a DataFrame or Arrow table with the columns of `ingest.frames.FRAME_COLUMNS[kind]`, values as strings
        or typed; input order decides which duplicate is kept.
    today
        bounds dates from above (default: the local date).

    Returns
    -------
    Validated
        `accepted` (typed, the dataset's columns + source_file, line_number) and `rejects` (row_id,
        source_file, line_number, ticker, record_date, rule, detail, record).
    """
    dataset = RAW_DATASETS[kind]
    today = today or dt.date.today()
    date_field = DATE_FIELDS[kind]
    columns = list(FRAME_COLUMNS[kind])
    if isinstance(frame, pa.Table):
        input_frame = frame.select(columns)
        rows_read = input_frame.num_rows
        input_frame = input_frame.append_column("row_id", pa.array(np.arange(rows_read, dtype=np.int64)))
    else:
        input_frame = frame.loc[:, columns].reset_index(drop=True)
        rows_read = len(input_frame)
        input_frame["row_id"] = np.arange(rows_read, dtype=np.int64)

    con = duckdb.connect(":memory:")
    con.register("input_frame", input_frame)
    parsed_columns = ", ".join(
        f"{_parse_expression(c, t, kind)} as parsed_{c}" for c, t in dataset.column_types.items()
    )
    record = ", ".join(f'"{c}" := cast("{c}" as varchar)' for c in dataset.column_types)
    con.execute(
        f"""
        create table parsed as
        with typed as (select *, {parsed_columns} from input_frame)
        select
            row_id,
            cast(source_file as varchar) as source_file,
            try_cast(line_number as bigint) as line_number,
            {_parse_checks(dataset, date_field)} as parse_rule,
            {_parse_detail(dataset)} as parse_detail,
            {_non_finite_detail(dataset)} as non_finite_detail,
            cast(to_json(struct_pack({record})) as varchar) as record,
            {", ".join(f"parsed_{c} as {c}" for c in dataset.column_types)}
        from typed
        """
    )
    con.unregister("input_frame")
    con.execute(f"create table derived as {_derived_columns(kind)}")

    # Stage 2: great-expectations on the rows that parsed.
    candidates = con.execute(
        "select * exclude (source_file, line_number, parse_rule, parse_detail, non_finite_detail, record) "
        "from parsed join derived using (row_id) where parse_rule is null order by row_id"
    ).df()
    rule_of_row: dict[int, str] = {}
    results: list[RuleResult] = []
    if len(candidates):
        rule_of_row, results = _run_expectations(kind, candidates, today)
    assignments = pd.DataFrame(
        {"row_id": list(rule_of_row.keys()), "rule": list(rule_of_row.values())},
        columns=["row_id", "rule"],
    ).astype({"row_id": "int64", "rule": "object"})
    descriptions = pd.DataFrame([(r.name, r.description) for r in rules_for(kind)], columns=["rule", "description"])
    con.register("assignments", assignments)
    con.register("descriptions", descriptions)
    key = ", ".join(dataset.key)
    own_details = " ".join(
        f"when rule = '{r.name}' then coalesce({r.detail_sql}, descriptions.description)"
        for r in rules_for(kind)
        if r.detail_sql
    )
    con.execute(
        f"""
        create table judged as
        with ruled as (
            select * exclude (rule), coalesce(parsed.parse_rule, assignments.rule) as rule
            from parsed join derived using (row_id) left join assignments using (row_id)
        ),
        ranked as (
            select *,
                row_number() over (partition by case when rule is null then 0 else row_id + 1 end, {key}
                                   order by row_id) as copy_number,
                first_value(coalesce(source_file, '') || ':' || coalesce(cast(line_number as varchar), '?'))
                    over (partition by case when rule is null then 0 else row_id + 1 end, {key}
                          order by row_id) as kept_at
            from ruled
        )
        select
            ranked.* exclude (rule, parse_detail, non_finite_detail),
            case when rule is null and copy_number > 1 then 'duplicate_key' else rule end as rule,
            case
                when rule is null and copy_number > 1 then 'duplicate of ' || kept_at || ' (kept)'
                when parse_rule = 'missing_date' then '{date_field} is missing'
                when parse_rule = 'non_finite_value' then 'value is not finite: ' || rtrim(non_finite_detail, '; ')
                when parse_rule is not null then 'value does not parse: ' || rtrim(parse_detail, '; ')
                {own_details}
                else descriptions.description
            end as detail
        from ranked left join descriptions using (rule)
        """
    )
    value_columns = ", ".join(dataset.column_types)
    accepted = con.sql(
        f"select {value_columns}, source_file, line_number from judged where rule is null order by row_id"
    ).to_arrow_table()
    rejects = con.sql(
        f"""
        select row_id, source_file, line_number, ticker,
               json_extract_string(record, '$.{date_field}') as record_date,
               rule, detail, record
        from judged where rule is not null order by row_id
        """
    ).to_arrow_table()
    con.close()
    if accepted.num_rows + rejects.num_rows != rows_read:
        raise AssertionError(
            f"validation lost rows: read {rows_read}, accepted {accepted.num_rows}, rejected {rejects.num_rows}"
        )
    return Validated(dataset=dataset, rows_read=rows_read, accepted=accepted, rejects=rejects, results=results)


def _run_expectations(kind: str, candidates: pd.DataFrame, today: dt.date) -> tuple[dict[int, str], list[RuleResult]]:
    """Run the dataset's GX suite on `candidates`; map each failing row_id to its first broken rule."""
    gx = _gx()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch_definition = (
        context.data_sources.add_pandas(f"{kind}_source")
        .add_dataframe_asset(kind)
        .add_batch_definition_whole_dataframe("batch")
    )
    rules = rules_for(kind)
    suite = gx.ExpectationSuite(name=f"{kind}_rules")
    rule_of_expectation: list[str] = []
    for rule in rules:
        for expectation in rule.expectations(today):
            suite.add_expectation(expectation)
            rule_of_expectation.append(rule.name)
    suite = context.suites.add(suite)
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=f"{kind}_validation", data=batch_definition, suite=suite)
    )
    outcome = definition.run(
        batch_parameters={"dataframe": candidates},
        result_format={
            "result_format": "COMPLETE",
            "unexpected_index_column_names": ["row_id"],
            "return_unexpected_index_query": False,
        },
    )
    priority = {rule.name: index for index, rule in enumerate(rules)}
    rule_of_row: dict[int, str] = {}
    results: list[RuleResult] = []
    for result in outcome.results:
        config = result.expectation_config
        rule = _rule_of(config, suite.expectations, rule_of_expectation)
        if result.exception_info and result.exception_info.get("raised_exception"):
            raise RuntimeError(
                f"great-expectations could not evaluate {config.type} for rule {rule}: "
                f"{result.exception_info.get('exception_message')}"
            )
        details = result.result or {}
        if not result.success and not details.get("unexpected_index_list"):
            # A failure that names no row would let the rows it found through unquarantined.
            raise RuntimeError(
                f"great-expectations failed {config.type} for rule {rule} without naming the rows: {details}"
            )
        columns = ",".join(str(v) for k, v in sorted(config.kwargs.items()) if k in ("column", "column_A", "column_B"))
        results.append(
            RuleResult(
                rule=rule,
                expectation=config.type,
                column_names=columns,
                success=bool(result.success),
                element_count=int(details.get("element_count") or 0),
                unexpected_count=int(details.get("unexpected_count") or 0),
            )
        )
        for item in details.get("unexpected_index_list") or []:
            row_id = int(item["row_id"])
            current = rule_of_row.get(row_id)
            if current is None or priority[rule] < priority[current]:
                rule_of_row[row_id] = rule
    return rule_of_row, results


def _rule_of(config, expectations, names) -> str:
    """The rule an expectation result belongs to (results come back as configurations, matched by id)."""
    for expectation, name in zip(expectations, names, strict=True):
        if getattr(expectation, "id", None) and expectation.id == getattr(config, "id", None):
            return name
    raise LookupError(f"no rule owns expectation {config.type} {config.kwargs}")

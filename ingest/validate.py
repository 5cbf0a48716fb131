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
from collections.abc import Callable
from dataclasses import dataclass, field

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


@dataclass(frozen=True)
class Rule:
    """One validation rule: a name users see in `raw.rejects.rule`, and the GX expectations that check it."""

    name: str
    description: str
    expectations: Callable[[dt.date], list]  # today -> GX expectation objects


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
    import great_expectations as gx

    return gx


def rules_for(dataset: str) -> list[Rule]:
    """The rules of one dataset, in priority order."""
    expectations = _gx().expectations
    date_field = DATE_FIELDS[dataset]

    def not_null(*columns: str) -> Callable[[dt.date], list]:
        return lambda today: [expectations.ExpectColumnValuesToNotBeNull(column=c) for c in columns]

    common = [
        Rule("missing_ticker", "ticker is empty", not_null("ticker")),
        Rule(
            "bad_ticker",
            "ticker is not 1-20 letters, digits or ^.=_-",
            lambda today: [expectations.ExpectColumnValuesToMatchRegex(column="ticker", regex=TICKER_PATTERN)],
        ),
        Rule(
            "future_date",
            f"{date_field} is after today",
            lambda today: [
                expectations.ExpectColumnValuesToBeBetween(column=date_field, max_value=pd.Timestamp(today))
            ],
        ),
    ]
    if dataset == "prices":

        def at_least(a: str, b: str):
            return expectations.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A=a, column_B=b, or_equal=True, ignore_row_if="either_value_is_missing"
            )

        return common + [
            Rule("missing_price", "open, high, low or close is missing", not_null(*PRICE_FIELDS)),
            Rule(
                "non_positive_price",
                "a price is zero or negative",
                lambda today: [
                    expectations.ExpectColumnValuesToBeBetween(column=c, min_value=0, strict_min=True)
                    for c in (*PRICE_FIELDS, "adj_close")
                ],
            ),
            Rule("high_below_low", "high is below low", lambda today: [at_least("high", "low")]),
            Rule(
                "ohlc_not_bracketed",
                "high/low do not bracket open and close",
                lambda today: [
                    at_least("high", "open"),
                    at_least("high", "close"),
                    at_least("open", "low"),
                    at_least("close", "low"),
                ],
            ),
            Rule("missing_volume", "volume is missing", not_null("volume")),
            Rule(
                "negative_volume",
                "volume is negative",
                lambda today: [expectations.ExpectColumnValuesToBeBetween(column="volume", min_value=0)],
            ),
        ]
    if dataset == "sentiment":
        return common + [
            Rule("missing_sentiment", "sentiment_score is missing", not_null("sentiment_score")),
            Rule(
                "sentiment_out_of_range",
                "sentiment_score is outside [-1, 1]",
                lambda today: [
                    expectations.ExpectColumnValuesToBeBetween(column="sentiment_score", min_value=-1, max_value=1)
                ],
            ),
            Rule(
                "negative_count",
                "article_count is negative",
                lambda today: [expectations.ExpectColumnValuesToBeBetween(column="article_count", min_value=0)],
            ),
        ]
    if dataset == "earnings":
        return common + [
            Rule(
                "bad_timing",
                f"announce_timing is not one of {', '.join(EARNINGS_TIMINGS)}",
                lambda today: [
                    expectations.ExpectColumnValuesToBeInSet(column="announce_timing", value_set=list(EARNINGS_TIMINGS))
                ],
            ),
        ]
    if dataset == "analyst_actions":
        return common + [
            Rule("missing_firm", "firm is empty", not_null("firm")),
            Rule(
                "bad_action",
                f"action is not one of {', '.join(ANALYST_ACTIONS)}",
                lambda today: [
                    expectations.ExpectColumnValuesToBeInSet(column="action", value_set=list(ANALYST_ACTIONS))
                ],
            ),
        ]
    if dataset == "insider_trades":
        return common + [
            Rule("missing_insider", "insider is empty", not_null("insider")),
            Rule(
                "bad_transaction",
                f"transaction is not one of {', '.join(INSIDER_TRANSACTIONS)}",
                lambda today: [
                    expectations.ExpectColumnValuesToBeInSet(column="transaction", value_set=list(INSIDER_TRANSACTIONS))
                ],
            ),
            Rule("missing_shares", "shares is missing", not_null("shares")),
            Rule(
                "negative_value",
                "value is negative",
                lambda today: [expectations.ExpectColumnValuesToBeBetween(column="value", min_value=0)],
            ),
        ]
    raise ValueError(f"unknown dataset {dataset!r}; expected one of {', '.join(RAW_DATASETS)}")


def _parse_expression(column: str, sql_type: str, dataset: str) -> str:
    raw = f'"{column}"'
    text = f"nullif(trim(cast({raw} as varchar)), '')"
    if sql_type == "date":
        # Files carry ISO dates, timestamps ('2015-01-12 00:00:00') or US dates; typed frames carry dates.
        return (
            f"coalesce(try_cast({text} as date), try_cast(try_cast({text} as timestamp) as date), "
            f"try_cast(try_strptime({text}, '%m/%d/%Y') as date))"
        )
    if sql_type == "double":
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
    return "case " + " ".join(cases) + " end"


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


def validate(kind: str, frame: pd.DataFrame | pa.Table, *, today: dt.date | None = None) -> Validated:
    """Validate one source frame of `kind` ('prices', 'sentiment', ...); see the module docstring.

    Parameters: `frame` (DataFrame or Arrow table) has the columns of `ingest.frames.FRAME_COLUMNS[kind]`,
    values as strings or typed; input order decides which duplicate is kept. `today` bounds dates from
    above (default: the local date).
    Returns a `Validated` with `accepted` (typed, the dataset's columns + source_file, line_number) and
    `rejects` (row_id, source_file, line_number, ticker, record_date, rule, detail, record).
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
            cast(to_json(struct_pack({record})) as varchar) as record,
            {", ".join(f"parsed_{c} as {c}" for c in dataset.column_types)}
        from typed
        """
    )
    con.unregister("input_frame")

    # Stage 2: great-expectations on the rows that parsed.
    candidates = con.execute(
        f"select row_id, {', '.join(dataset.column_types)} from parsed where parse_rule is null order by row_id"
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
    con.execute(
        f"""
        create table judged as
        with ruled as (
            select parsed.*, coalesce(parsed.parse_rule, assignments.rule) as rule
            from parsed left join assignments using (row_id)
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
            ranked.* exclude (rule, parse_detail),
            case when rule is null and copy_number > 1 then 'duplicate_key' else rule end as rule,
            case
                when rule is null and copy_number > 1 then 'duplicate of ' || kept_at || ' (kept)'
                when parse_rule = 'missing_date' then '{date_field} is missing'
                when parse_rule is not null then 'value does not parse: ' || rtrim(parse_detail, '; ')
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

"""`python -m ml.backtest`: do the signals predict forward returns? Edge, factor view, backtest and report.

    python -m ml.backtest            # the champion model in $FEATURE_STORE_DB or warehouse/feature_store.duckdb
    python -m ml.backtest --cost-bps 5 --top-fraction 0.2 --model-id 20261125T031806-dace6164
    python -m ml.backtest --report reports/edge.html

Reads the signal-edge marts that `dbt build` made (their threshold and horizon are dbt vars), the feature
mart and the trained model; stores every table in the `analysis` schema and writes one HTML report.
Prints progress, then the verdicts. Follows the command-line convention of `cli` (exit 0 / 1 / 2 / 130,
one-line errors).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cli import Terminal, run_command
from cli.arguments import add_database_argument, fraction, non_negative_float
from cli.console import styled
from ml.backtest.analysis import run_edge_analysis
from ml.backtest.report import write_report
from ml.backtest.results import EdgeAnalysis, EdgeSettings
from ml.backtest.storage import save_analysis
from ml.errors import MLError
from store import connect, database_file, database_path

DEFAULT_REPORT = Path("reports") / "edge_report.html"
INTERRUPTED = "no analysis was stored: the database is as it was before this command."


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ml.backtest", description=__doc__.splitlines()[0])
    add_database_argument(parser)
    parser.add_argument(
        "--model-id",
        default=None,
        help="model to test (default: the champion: the model ml.train trained last, or one ml.daily promoted since)",
    )
    parser.add_argument(
        "--cost-bps", type=non_negative_float, default=10.0, help="trading cost per side, basis points (10)"
    )
    parser.add_argument("--top-fraction", type=fraction, default=0.1, help="share of stocks bought each day (0.1)")
    parser.add_argument("--report", type=Path, default=DEFAULT_REPORT, help=f"HTML report path ({DEFAULT_REPORT})")
    return parser


def print_summary(analysis: EdgeAnalysis, report_path: Path, terminal: Terminal) -> None:
    """The verdicts and the backtest in a few lines a person reads."""
    colours = {"yes": "green", "no": "red"}
    terminal.table(
        f"edge analysis, model {analysis.model_id}",
        ("question", "answer", "numbers"),
        [
            (verdict.question, styled(verdict.word, colours.get(verdict.word, "")), verdict.detail)
            for verdict in analysis.verdicts
        ],
        left=("question", "answer", "numbers"),
    )
    if not analysis.model_data_matches:
        terminal.line(
            "note: the feature mart changed since this model was trained; retrain before trusting it", style="yellow"
        )
    terminal.line(
        f"report: {report_path}  ·  tables: schema analysis, run {analysis.run_id}  ·  {analysis.seconds:.1f} s"
    )


def run(args: argparse.Namespace, terminal: Terminal) -> int:
    """Measure, write the report, store the tables: one read-write connection for all of it."""
    settings = EdgeSettings(cost_bps=args.cost_bps, top_fraction=args.top_fraction)
    connection = connect(database_path(args.db), create=False)
    try:
        analysis = run_edge_analysis(connection, model_id=args.model_id, settings=settings, report=terminal.say)
        terminal.say(f"writing the report to {args.report}")
        write_report(analysis, database_file(connection), args.report)
        terminal.say("saving the tables to the analysis schema")
        save_analysis(connection, analysis, args.report)
    finally:
        connection.close()
    print_summary(analysis, args.report, terminal)
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m ml.backtest ARGS`: returns the exit status (see `cli.run`)."""
    return run_command(build_parser(), run, argv, user_errors=(MLError,), interrupted=INTERRUPTED)


if __name__ == "__main__":
    sys.exit(main())

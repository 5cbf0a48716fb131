"""`python -m ml.backtest`: do the signals predict 5-day returns? Edge, factor view, backtest and report.

    python -m ml.backtest            # the newest model in $FEATURE_STORE_DB or warehouse/feature_store.duckdb
    python -m ml.backtest --cost-bps 5 --top-fraction 0.2 --model-id 20261125T031806-dace6164
    python -m ml.backtest --report reports/edge.html

Reads the signal-edge marts that `dbt build` made (their threshold and horizon are dbt vars), the feature
mart and the trained model; stores every table in the `analysis` schema and writes one HTML report.
Prints progress, then the verdicts. Users' errors print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from ingest.config import DB_ENV_VAR, DEFAULT_DB, database_path
from ml.edge import EdgeAnalysis, EdgeSettings, run_edge_analysis
from ml.edge_store import save_analysis
from ml.errors import MLError
from ml.report import write_report

DEFAULT_REPORT = Path("reports") / "edge_report.html"

_err = Console(stderr=True, highlight=False)
_out = Console(highlight=False, width=None if sys.stdout.isatty() else 140)


def _say(message: str) -> None:
    _err.print(f"• {message}")
    sys.stderr.flush()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ml.backtest", description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=None, help=f"DuckDB file (default: ${DB_ENV_VAR} or {DEFAULT_DB})")
    parser.add_argument("--model-id", default=None, help="model to test (default: the newest in ml.models)")
    parser.add_argument("--cost-bps", type=float, default=10.0, help="trading cost per side, basis points (10)")
    parser.add_argument("--top-fraction", type=float, default=0.1, help="share of stocks bought each day (0.1)")
    parser.add_argument("--report", type=Path, default=DEFAULT_REPORT, help=f"HTML report path ({DEFAULT_REPORT})")
    return parser


def print_summary(analysis: EdgeAnalysis, report_path: Path) -> None:
    """The verdicts and the backtest in a few lines a person reads."""
    table = Table(title=f"edge analysis, model {analysis.model_id}", show_lines=False)
    for column in ("question", "answer", "numbers"):
        table.add_column(column, overflow="fold")
    for verdict in analysis.verdicts:
        style = {"yes": "green", "no": "red"}.get(verdict.word, "")
        table.add_row(verdict.question, f"[{style}]{verdict.word}[/]" if style else verdict.word, verdict.detail)
    _out.print(table)
    if not analysis.model_data_matches:
        _out.print("[yellow]note: the feature mart changed since this model was trained; retrain before trusting it[/]")
    _out.print(f"report: {report_path}  ·  tables: schema analysis, run {analysis.run_id}  ·  {analysis.seconds:.1f} s")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    db_path = database_path(args.db)
    try:
        if not db_path.exists():
            raise MLError(
                f"{db_path} does not exist: run `python -m ingest synthetic`, `dbt build` and "
                "`python -m ml.train` first."
            )
        settings = EdgeSettings(cost_bps=args.cost_bps, top_fraction=args.top_fraction)
        analysis = run_edge_analysis(db_path, model_id=args.model_id, settings=settings, report=_say)
        _say(f"writing the report to {args.report}")
        write_report(analysis, db_path, args.report)
        _say("saving the tables to the analysis schema")
        save_analysis(db_path, analysis, args.report)
    except MLError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print_summary(analysis, args.report)
    return 0


if __name__ == "__main__":
    sys.exit(main())

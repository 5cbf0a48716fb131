"""What a person sees: stage messages and progress bars on stderr, the run summary on stdout."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ingest.load import RunSummary

_err = Console(stderr=True, highlight=False)
# On a pipe (CI, logs) rich would wrap at 80 columns; the summary table needs about 100.
_out = Console(highlight=False, width=None if sys.stdout.isatty() else 120)


def say(message: str) -> None:
    """One stage line on stderr (flushed at once, so a watching process sees it)."""
    _err.print(f"• {message}")
    sys.stderr.flush()


@contextmanager
def progress_bar(description: str) -> Iterator:
    """A progress bar on a terminal; on a pipe, a line every 10% instead. Yields `update(done, total)`."""
    if _err.is_terminal:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=_err,
            transient=True,
        ) as bar:
            task = bar.add_task(description, total=None)

            def update(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            yield update
        return
    last_tenth = -1

    def update(done: int, total: int) -> None:
        nonlocal last_tenth
        tenth = done * 10 // max(total, 1)
        if tenth != last_tenth:
            last_tenth = tenth
            say(f"{description}: {done}/{total}")

    yield update


def print_summary(summary: RunSummary) -> None:
    """The end-of-run table: per dataset rows read, loaded (new/changed/unchanged), rejected by rule."""
    table = Table(title=f"ingest {summary.source} — run {summary.run_id} — {summary.status}")
    for column in ("dataset", "read", "loaded", "new", "changed", "unchanged", "rejected"):
        table.add_column(column, justify="left" if column == "dataset" else "right")
    for counts in summary.datasets:
        table.add_row(
            counts.dataset,
            f"{counts.rows_read:,}",
            f"{counts.rows_loaded:,}",
            f"{counts.rows_inserted:,}",
            f"{counts.rows_updated:,}",
            f"{counts.rows_unchanged:,}",
            f"{counts.rows_rejected:,}",
        )
    _out.print(table)
    for counts in summary.datasets:
        if counts.reject_rules:
            ranked = sorted(counts.reject_rules.items(), key=lambda item: -item[1])
            _out.print(f"rejected {counts.dataset}: " + ", ".join(f"{rule} {n:,}" for rule, n in ranked))
    balanced = summary.rows_read == summary.rows_loaded + summary.rows_rejected
    _out.print(
        f"rows read {summary.rows_read:,} = loaded {summary.rows_loaded:,} + rejected {summary.rows_rejected:,}"
        f" {'(balanced)' if balanced else '(NOT BALANCED: a bug, please report it)'}"
    )
    failed = [f for f in summary.files if f.status != "loaded"]
    if summary.files:
        _out.print(f"files: {len(summary.files):,} read, {len(failed):,} not loaded")
    for file in failed:
        _out.print(f"  {file.status}: {file.message}")
    for note in summary.notes:
        _out.print(f"note: {note}")
    changed = sum(counts.rows_updated for counts in summary.datasets)
    if changed:
        _out.print(
            f"note: {changed:,} stored row(s) changed: a daily `dbt build` computes only new rows, so rebuild "
            "the features with `dbt build --full-refresh`."
        )
    _out.print(
        f"database {summary.database}; {summary.seconds:.1f} s. Quarantined rows are in raw.rejects "
        "(rule, detail, source_file, line_number); the run log is raw.ingest_runs."
    )

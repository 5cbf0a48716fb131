"""The end-of-run summary of `python -m ingest`, printed through the command's `cli.Terminal`."""

from __future__ import annotations

from cli import Terminal
from ingest.load import RunSummary


def print_summary(summary: RunSummary, terminal: Terminal) -> None:
    """The end-of-run table: per dataset rows read, loaded (new/changed/unchanged), rejected by rule; then the
    balance of the counts, the files that were not loaded, the notes and where things are."""
    terminal.table(
        f"ingest {summary.source} — run {summary.run_id} — {summary.status}",
        ("dataset", "read", "loaded", "new", "changed", "unchanged", "rejected"),
        [
            (
                counts.dataset,
                f"{counts.rows_read:,}",
                f"{counts.rows_loaded:,}",
                f"{counts.rows_inserted:,}",
                f"{counts.rows_updated:,}",
                f"{counts.rows_unchanged:,}",
                f"{counts.rows_rejected:,}",
            )
            for counts in summary.datasets
        ],
        left=("dataset",),
    )
    for counts in summary.datasets:
        if counts.reject_rules:
            ranked = sorted(counts.reject_rules.items(), key=lambda item: -item[1])
            terminal.line(f"rejected {counts.dataset}: " + ", ".join(f"{rule} {n:,}" for rule, n in ranked))
    balanced = summary.rows_read == summary.rows_loaded + summary.rows_rejected
    terminal.line(
        f"rows read {summary.rows_read:,} = loaded {summary.rows_loaded:,} + rejected {summary.rows_rejected:,}"
        f" {'(balanced)' if balanced else '(NOT BALANCED: a bug, please report it)'}"
    )
    failed = [f for f in summary.files if f.status not in ("loaded", "skipped")]
    skipped = [f for f in summary.files if f.status == "skipped"]
    if summary.files:
        read = len(summary.files) - len(skipped)
        terminal.line(
            f"files: {read:,} read, {len(failed):,} not loaded" + (f", {len(skipped):,} skipped" if skipped else "")
        )
    for file in failed + skipped:
        terminal.line(f"  {file.status}: {file.message}")
    for note in summary.notes:
        terminal.line(f"note: {note}")
    changed = sum(counts.rows_updated for counts in summary.datasets)
    if changed:
        terminal.line(
            f"note: {changed:,} stored row(s) changed: a daily `dbt build` computes only new rows, so rebuild "
            "the features with `dbt build --full-refresh`."
        )
    terminal.line(
        f"database {summary.database}; {summary.seconds:.1f} s. Quarantined rows are in raw.rejects "
        "(rule, detail, source_file, line_number); the run log is raw.ingest_runs."
    )

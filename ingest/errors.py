"""Typed errors of the ingest package. Each message says what happened and what to do about it.

The command line prints `str(error)` as one line and exits with status 1 (see `cli.run`); anything else
is a bug and keeps its traceback. Database errors (locked, missing, corrupt) are `store.errors`.
"""

from __future__ import annotations


class IngestError(Exception):
    """Base class for errors a user can act on."""


class MissingColumnsError(IngestError):
    """A file lacks columns the loader needs."""

    def __init__(self, source_file: str, missing: list[str], found: list[str]) -> None:
        self.source_file = source_file
        self.missing = missing
        super().__init__(
            f"{source_file} is missing required column(s): {', '.join(missing)} (found: {', '.join(found) or 'none'})."
        )


class SettingsError(IngestError, ValueError):
    """Settings a source cannot work with (for example a synthetic market too short to label)."""


class NoInputError(IngestError):
    """A path or glob matched nothing."""


class UnknownTickerError(IngestError):
    """A ticker that is not in the universe was asked for."""


class SourceError(IngestError):
    """A remote source (Yahoo, EODHD) refused or failed in a way retrying will not fix."""

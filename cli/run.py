"""`run_command`: parse the arguments, run a command's handler, and turn its outcome into an exit status.

    0   the command succeeded
    1   the run failed for a reason the user can act on (a typed error of store, ingest or ml): one line
    2   a usage error: argparse's own message, or `UsageError` raised by the handler
    130 Ctrl-C: one line

Ctrl-C reaches Python in several shapes (KeyboardInterrupt; DuckDB's 'Query interrupted'; a DuckDB error
wrapping a KeyboardInterrupt raised while it read a frame), so `run_command` also records the signal itself:
whatever the handler raises after a Ctrl-C is reported as the interrupt it is. A full disk is a user's
problem too: inside a store transaction it is `store.DiskFullError` (rolled back); anywhere else (a report
file, DuckDB's checkpoint when the connection closes) it is one line with status 1. Any other exception is a
bug: it keeps its traceback (and Python's exit status 1).
"""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from cli.console import Terminal
from store import StoreError, disk_full_detail, is_disk_full, is_interrupt

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

Handler = Callable[[argparse.Namespace, Terminal], int | None]


class UsageError(Exception):
    """Arguments that argparse accepted but that do not make sense together (exit status 2)."""


def run_command(
    parser: argparse.ArgumentParser,
    handler: Handler,
    argv: Sequence[str] | None = None,
    *,
    user_errors: tuple[type[BaseException], ...] = (),
    interrupted: str | Callable[[argparse.Namespace], str] = (
        "nothing was written: the database is as it was before this command."
    ),
    terminal: Terminal | None = None,
) -> int:
    """Run `handler(args, terminal)` under the convention of the module docstring and return the exit status.

    Parameters
    ----------
    parser
        the command's argument parser (its errors exit with status 2).
    handler
        does the work; returns None or 0 on success (or another status of its own choosing).
    argv
        the arguments (default: sys.argv[1:]).
    user_errors
        the packages' typed error bases whose messages are shown as one line (exit 1);
        `store.StoreError` is always one of them.
    interrupted
        what Ctrl-C left behind, said after 'interrupted: ': a sentence, or a function of the
        arguments that finds out (called after the handler has returned, its connection closed), for a
        command whose Ctrl-C may land after its write committed.
    terminal
        where output goes (default: a new `Terminal`).
    """
    terminal = terminal or Terminal()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # argparse: --help (0) or a usage error (2), message already printed
        return EXIT_USAGE if stop.code not in (0, None) else EXIT_OK
    ctrl_c = threading.Event()
    try:
        with _recording_ctrl_c(ctrl_c):
            status = handler(args, terminal)
    except BaseException as error:
        if ctrl_c.is_set() or is_interrupt(error):
            terminal.error(f"interrupted: {interrupted if isinstance(interrupted, str) else interrupted(args)}")
            return EXIT_INTERRUPTED
        if isinstance(error, UsageError):
            terminal.error(f"error: {error} (see {parser.prog} --help)")
            return EXIT_USAGE
        if isinstance(error, (StoreError, *user_errors)):
            terminal.error(f"error: {error}")
            return EXIT_FAILED
        if is_disk_full(error):
            terminal.error(
                f"error: the disk filled up while {parser.prog} was writing ({disk_full_detail(error)}): free some "
                "space and run it again; a write to the database that had not committed was rolled back."
            )
            return EXIT_FAILED
        raise
    return EXIT_OK if status is None else int(status)


@contextmanager
def _recording_ctrl_c(ctrl_c: threading.Event) -> Iterator[None]:
    """While the block runs, SIGINT sets `ctrl_c` and then raises KeyboardInterrupt as Python's default does.

    Only the main thread may install a signal handler; elsewhere `ctrl_c` stays unset and `is_interrupt`
    alone recognises Ctrl-C.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def record(signum, frame):
        ctrl_c.set()
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, record)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)

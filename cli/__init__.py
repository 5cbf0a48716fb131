"""The command-line convention every entry point follows (`python -m ingest`, `python -m ml.train`,
`python -m ml.backtest`, and the ones to come).

- Exit status: 0 success, 1 a run that failed (a locked or missing database, a missing mart, bad input
  data), 2 a usage error (bad arguments: argparse's own check, or `UsageError`), 130 Ctrl-C.
- A user's error is one line, `error: <what happened and what to do>`, never a traceback. Anything else
  is a bug and keeps its traceback.
- Ctrl-C prints one line saying the database was left as it was (every write is one transaction).
- Text that comes from data (file names, headers, tickers) is printed literally, never read as console
  markup: `Terminal` turns markup and emoji codes off.
- The same flag means the same thing everywhere (`cli.arguments`): `--db PATH`, `--tickers A,B` (a list),
  `--n-tickers N` / `--n-features N` (counts), `--seed N`.

`cli.run.run_command` applies the convention around a command's handler; `cli.console.Terminal` is what a
person sees; `cli.arguments` holds the shared argument types.
"""

from cli.console import Terminal
from cli.run import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, UsageError, run_command

__all__ = ["EXIT_FAILED", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE", "Terminal", "UsageError", "run_command"]

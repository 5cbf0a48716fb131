"""What a person sees: stage lines and progress on stderr, results (tables, summaries) on stdout.

Everything is printed literally: rich's markup (`[bold]`, `[/]`) and emoji codes (`:smile:`) are turned
off, so a file named `prices[/]2020.csv` or a ticker named `:x:` prints as it is. Style is given
explicitly (`style=` or `styled()`), never embedded in text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

Cell = str | Text


def styled(text: str, style: str) -> Text:
    """`text` shown in `style` (e.g. 'green', 'bold red'), literally."""
    return Text(text, style=style)


class Terminal:
    """A command's output: `say` for stage lines (stderr), `line` and `table` for results (stdout).

    Parameters
    ----------
    width
        columns of the results when stdout is not a terminal (CI, logs, pipes), where rich would
        otherwise wrap at 80.
    """

    def __init__(self, width: int = 140) -> None:
        options = {"highlight": False, "markup": False, "emoji": False}
        self._err = Console(stderr=True, **options)
        out = Console(**options)
        self._out = out if out.is_terminal else Console(width=width, **options)

    def say(self, message: str) -> None:
        """One stage line on stderr, flushed at once so a watching process sees it."""
        self._err.print(Text(f"• {message}"), soft_wrap=True)
        self._err.file.flush()

    def error(self, message: str) -> None:
        """The one line of a user's error, on stderr."""
        self._err.print(Text(message), soft_wrap=True)
        self._err.file.flush()

    def line(self, text: Cell = "", style: str | None = None) -> None:
        """One line of results on stdout (in `style` if given)."""
        self._out.print(Text(text, style=style or "") if isinstance(text, str) else text, soft_wrap=True)

    def table(
        self,
        title: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Cell]],
        *,
        left: Sequence[str] = (),
    ) -> None:
        """A table on stdout. Columns named in `left` are left-aligned, the others right-aligned (numbers).
        A cell too long for the width wraps onto the next line rather than being cut: no value is hidden."""
        table = Table(title=Text(title))
        for column in columns:
            table.add_column(Text(column), justify="left" if column in left else "right", overflow="fold")
        for row in rows:
            table.add_row(*(Text(cell) if isinstance(cell, str) else cell for cell in row))
        self._out.print(table)

    @contextmanager
    def progress(self, description: str) -> Iterator[Callable[[int, int], None]]:
        """A progress bar on a terminal; on a pipe, a stage line every 10%. Yields `update(done, total)`."""
        if self._err.is_terminal:
            columns = (
                TextColumn("{task.description}", markup=False),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
            )
            with Progress(*columns, console=self._err, transient=True) as bar:
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
                self.say(f"{description}: {done}/{total}")

        yield update

"""The building blocks of the HTML reports (the edge report, the monitoring report): one self-contained file,
charts as inline SVG drawn by matplotlib, no scripts, no network."""

from __future__ import annotations

import html
import io
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from ml.errors import MLError

STYLE = """
body { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1100px;
       color: #222; line-height: 1.4; padding: 0 1em; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2em; margin-top: 2em; }
.meta { color: #666; font-size: 0.9em; }
.warning { background: #fff3cd; border: 1px solid #e0c36c; padding: 0.6em 1em; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.8em 0; }
th, td { border-bottom: 1px solid #eee; padding: 0.25em 0.6em; text-align: right; }
th { background: #f6f6f6; } td:first-child, th:first-child { text-align: left; }
.verdicts td { text-align: left; } .yes { color: #fff; background: #2e7d32; } .no { color: #fff; background: #c62828; }
.na { color: #fff; background: #888; } .badge { font-weight: bold; padding: 0.1em 0.5em; border-radius: 3px; }
figure { margin: 1em 0; } figcaption { color: #555; font-size: 0.85em; }
.grid { display: flex; flex-wrap: wrap; gap: 1em; } .grid figure { flex: 1 1 480px; }
"""


def subplots(width: float, height: float, *args: int, **kwargs) -> tuple[Figure, object]:
    """A new figure of `width` x `height` inches and its axes (`Figure.subplots(*args, **kwargs)`).

    A `matplotlib.figure.Figure` made directly, not through pyplot: no global backend to switch, no window, and
    nothing to close (the figure is freed with its last reference).
    """
    drawing = Figure(figsize=(width, height))
    return drawing, drawing.subplots(*args, **kwargs)


def svg(figure: Figure) -> str:
    """A matplotlib figure as an inline SVG element."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def figure(drawing: str, caption: str) -> str:
    """An SVG drawing with its caption."""
    return f"<figure>{drawing}<figcaption>{html.escape(caption)}</figcaption></figure>"


def table(frame: pd.DataFrame, formats: dict[str, tuple]) -> str:
    """An HTML table of `frame`'s columns named in `formats` (column -> (header, formatter))."""
    head = "".join(f"<th>{html.escape(header)}</th>" for header, _ in formats.values())
    rows = []
    for record in frame.to_dict("records"):
        cells = "".join(
            f"<td>{html.escape(str(formatter(record[column])))}</td>" for column, (_, formatter) in formats.items()
        )
        rows.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def write_page(page: str, path: Path, example: str) -> Path:
    """Write a rendered report to `path` (folders created); returns the path.

    Raises
    ------
    MLError
        `path` is a directory or cannot be written (`example`: a file name to suggest).
    """
    if path.is_dir():
        raise MLError(f"the report path {path} is a directory: pass --report with a file name, e.g. {path / example}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(page, encoding="utf-8")
    except OSError as error:
        raise MLError(
            f"cannot write the report to {path} ({error.strerror}): pass --report with a writable path."
        ) from None
    return path

"""HTML building blocks of the report: escaping, number formats, tables, embedded PNGs.

Kept apart from the report's content so that every section (Table 1, the
polytopes, Tables 2-4, the index) formats numbers and escapes text the same
way; cells are escaped here, once, so no section can forget it.
"""

from __future__ import annotations

import base64
import html
import io
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from fooled.core.h5io import atomic_path

DPI = 80  # figures are embedded; 80 dpi keeps a 100-experiment page small

CSS = """
body { font-family: sans-serif; max-width: 1250px; margin: 1em auto; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.9em; }
th, td { border: 1px solid #bbb; padding: 3px 7px; text-align: right; }
th { background: #eee; } td:first-child, th:first-child { text-align: left; }
tr.paper td { background: #fff6d5; } tr.agg td { background: #eef3fb; }
tr.bad td { color: #a00; } tr.random td { color: #777; font-style: italic; }
pre { background: #f6f6f6; padding: 0.6em; overflow-x: auto; font-size: 0.8em; }
img { max-width: 100%; } .note { color: #555; font-size: 0.9em; }
section.experiment { border-top: 2px solid #ccc; margin-top: 1.5em; }
"""


def escape(value: Any) -> str:
    """Any value as escaped HTML text."""
    return html.escape(str(value))


def number(value: Any, digits: int = 2, grouped: bool = False) -> str:
    """A fixed-point number, "—" when missing or not finite; ``grouped`` adds thousands commas."""
    if value is None:
        return "—"
    value = float(value)
    if not math.isfinite(value):
        return "—"
    return f"{value:,.{digits}f}" if grouped else f"{value:.{digits}f}"


def percent(value: Any) -> str:
    """Percent with no decimals when exact (the paper's "100%"), else two."""
    if value is None or not math.isfinite(float(value)):
        return "—"
    share = float(value) * 100.0
    return f"{share:.0f}%" if abs(share - round(share)) < 1e-9 else f"{share:.2f}%"


def probability(value: Any) -> str:
    """A probability, to three decimals."""
    return number(value, 3)


def scientific(value: Any) -> str:
    """Errors span 1e-9 (LP) to 1 (gradient): scientific notation keeps both readable."""
    if value is None or not math.isfinite(float(value)):
        return "—"
    return f"{float(value):.2e}"


def table(header: Sequence[str], rows: Sequence[tuple[str, Sequence[str]]]) -> str:
    """An HTML table; cells are escaped here, row classes are trusted constants."""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = []
    for css, cells in rows:
        attr = f' class="{css}"' if css else ""
        body.append(f"<tr{attr}>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def png(figure: Figure) -> str:
    """A figure as a base64 PNG ``data:`` URI, so the page needs no other file."""
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def img(uri: str, alt: str) -> str:
    """An ``<img>`` of a ``data:`` URI from :func:`png`."""
    return f'<img src="{uri}" alt="{html.escape(alt)}">'


class Figures:
    """A section's figures: drawn from the study's artifacts, each embedded in the page and,
    given a folder, kept as a PNG file.

    ``artifacts`` are what the pictures are drawn from (images, curves, score
    distributions: the arrays a summary does not carry; see :mod:`fooled.report.study`).
    The files are the rule's ``report()`` outputs, so ``snakemake --report``
    shows the same pictures as the self-contained page.
    """

    def __init__(self, folder: str | os.PathLike[str] | None = None, artifacts: Any = None) -> None:
        self.folder = None if folder is None else Path(folder)
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
        self.artifacts = artifacts
        self.written: list[Path] = []

    def img(self, uri: str, name: str, alt: str) -> str:
        if self.folder is not None:
            path = self.folder / f"{name}.png"
            write_bytes_atomic(path, base64.b64decode(uri.split(",", 1)[1]))
            self.written.append(path)
        return img(uri, alt)


def write_bytes_atomic(path: Path, payload: bytes) -> None:
    with atomic_path(path) as temporary:
        temporary.write_bytes(payload)

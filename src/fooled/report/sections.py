"""A study's section of the report: an HTML fragment and its part of ``summary.json``.

The fragment is self-contained (figures embedded as data URIs) and starts
with its own ``<h2>``; the summary is strict JSON (no NaN), keyed in
``summary.json`` by the study's name. Both files are written atomically, the
JSON first, so a section never outlives a summary that failed to serialise.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fooled.core.h5io import ArtifactError, write_text_atomic

PathLike = str | os.PathLike[str]


def strict_json(value: Any) -> str:
    """JSON with NaN and infinities as null (strict parsers, JavaScript, jq)."""

    def clean(item: Any) -> Any:
        if isinstance(item, float) and not math.isfinite(item):
            return None
        if isinstance(item, Mapping):
            return {str(key): clean(inner) for key, inner in item.items()}
        if isinstance(item, list | tuple):
            return [clean(inner) for inner in item]
        if hasattr(item, "item") and callable(item.item):  # NumPy scalars
            return clean(item.item())
        return item

    return json.dumps(clean(value), indent=2, allow_nan=False) + "\n"


@dataclass
class Section:
    """What one study contributes to the report."""

    study: str
    title: str
    html: str
    summary: dict[str, Any]

    def write(self, html_path: PathLike, summary_path: PathLike) -> None:
        text = strict_json({"study": self.study, "title": self.title, **self.summary})
        write_text_atomic(summary_path, text)
        write_text_atomic(html_path, self.html)


def read_section(html_path: PathLike, summary_path: PathLike) -> Section:
    """A section written by :meth:`Section.write`, naming the file that is missing or broken."""
    try:
        summary = json.loads(Path(summary_path).read_text(encoding="utf-8"))
        html = Path(html_path).read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise ArtifactError(f"{error.filename}: missing report section") from error
    except json.JSONDecodeError as error:
        raise ArtifactError(f"{summary_path}: not valid JSON ({error})") from error
    study = summary.pop("study", None)
    title = summary.pop("title", None)
    if not study or not title:
        raise ArtifactError(f"{summary_path}: a section summary names its study and title")
    return Section(study, title, html, summary)

"""Two runs' summaries compared number by number, timings left out.

What the README's "Reproducibility" section states about runs on other kernels is this
comparison of committed reference runs (tools/readme_tables.py renders it), and what
``python tools/compare_runs.py A B`` prints for any two runs.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fooled.core.timings import without_timings


def _leaves(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, f"{path}[{index}]")
    else:
        yield path, value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _relative(a: float, b: float) -> float:
    if a == b or (
        isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b)
    ):
        return 0.0
    scale = max(abs(a), abs(b))
    return abs(a - b) / scale if scale else math.inf


@dataclass
class Comparison:
    """Fields compared, those that differ (numbers: with their relative difference)."""

    n_numbers: int = 0
    n_other: int = 0
    differing_numbers: dict[str, float] = field(default_factory=dict)  # path -> relative diff
    differing_other: list[str] = field(default_factory=list)
    only_in_one: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return not (self.differing_numbers or self.differing_other or self.only_in_one)

    def by_study(self) -> dict[str, tuple[int, float]]:
        """Study -> (numbers that differ, the largest relative difference)."""
        studies: dict[str, tuple[int, float]] = {}
        for path, relative in self.differing_numbers.items():
            study = path.split(".", 1)[0]
            count, largest = studies.get(study, (0, 0.0))
            studies[study] = (count + 1, max(largest, relative))
        return dict(sorted(studies.items()))

    def largest(self) -> tuple[str, float] | None:
        if not self.differing_numbers:
            return None
        return max(self.differing_numbers.items(), key=lambda item: item[1])


def compare(first: dict[str, Any], second: dict[str, Any]) -> Comparison:
    """Every result of two summaries (timings and provenance left out), leaf by leaf."""
    ours = dict(_leaves(without_timings({k: v for k, v in first.items() if k != "provenance"})))
    theirs = dict(_leaves(without_timings({k: v for k, v in second.items() if k != "provenance"})))
    comparison = Comparison()
    comparison.only_in_one = sorted(set(ours) ^ set(theirs))
    for path in sorted(set(ours) & set(theirs)):
        a, b = ours[path], theirs[path]
        if _is_number(a) and _is_number(b):
            comparison.n_numbers += 1
            relative = _relative(a, b)
            if relative:
                comparison.differing_numbers[path] = relative
        else:
            comparison.n_other += 1
            if a != b:
                comparison.differing_other.append(path)
    return comparison


def describe(comparison: Comparison) -> str:
    """A few lines for a person: how many fields, which differ and by how much."""
    lines = [
        f"{comparison.n_numbers} numbers and {comparison.n_other} other results compared "
        "(timings and provenance left out)"
    ]
    if comparison.identical:
        return "\n".join([*lines, "identical, bit for bit"])
    for study, (count, largest) in comparison.by_study().items():
        lines.append(f"{study}: {count} numbers differ, at most {largest:.2g} relative")
    if comparison.largest():
        path, relative = comparison.largest()
        lines.append(f"largest relative difference: {relative:.2g} ({path})")
    for path in comparison.differing_other:
        lines.append(f"differs: {path}")
    for path in comparison.only_in_one:
        lines.append(f"in one summary only: {path}")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- reference runs

PRIMARY = "primary"


def reference_runs(folder: str | Path) -> dict[str, Path]:
    """The committed reference runs: ``folder`` itself (the primary, whose numbers the README
    shows) and ``folder/kernels/<name>/`` (the same run on the same machine under another BLAS
    kernel), each holding ``summary.json`` and the ``environment.json`` fingerprint."""
    folder = Path(folder)
    runs = {PRIMARY: folder}
    kernels = folder / "kernels"
    if kernels.is_dir():
        for path in sorted(kernels.iterdir()):
            if (path / "summary.json").is_file():
                runs[path.name] = path
    return runs


def reference_with_fingerprint(
    folder: str | Path, fingerprint: dict[str, Any]
) -> tuple[str, Path] | None:
    """The reference run made with exactly these numerics, if one was committed."""
    for name, path in reference_runs(folder).items():
        recorded = json.loads((path / "environment.json").read_text())
        if recorded == json.loads(json.dumps(fingerprint)):
            return name, path
    return None

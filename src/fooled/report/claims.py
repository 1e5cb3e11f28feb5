"""The papers' claims as data, each checked against a run's summary with a verdict.

A :class:`Claim` says in words what a paper claims, where (paper and table or section), the
paper's own figure, what to measure in a study's summary and how to compare it (a direction
and a threshold, stated with its reason). :func:`evaluate` gives each claim a
:class:`Verdict`: ``holds``, ``does not hold``, or ``not comparable here`` with the reason
(a departure the study's own summary records, such as a network far from the paper's, or a
figure the run did not compute). The verdicts are a pure function of ``summary.json``: the
report, the README and the tests all compute them from it, so none is stored twice.

Each study declares its claims in its package (``claims.py``: ``CLAIMS``), over its own
summary; the registry names them. Nothing here knows a study.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fooled.report.html import escape

HOLDS = "holds"
FAILS = "does not hold"
NOT_COMPARABLE = "not comparable here"
_COMPARE = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt}


@dataclass(frozen=True)
class Measure:
    """Our figure: a mean with its spread (sample standard deviation) over ``n`` runs, seeds
    or experiments (``sd`` None for one), and what ``n`` counts."""

    value: float
    n: int = 1
    sd: float | None = None
    over: str = "run"
    lowest: bool = False  # value is the lowest of the n (a claim about every one)

    def text(self, digits: int) -> str:
        value = f"{self.value:.{digits}f}"
        plural = "s" if self.n != 1 else ""
        if self.lowest:
            return f"lowest {value} of {self.n} {self.over}{plural}"
        if self.n > 1 and self.sd is not None:
            return f"{value} +- {self.sd:.{digits}f} (mean +- sd, n = {self.n} {self.over}s)"
        return f"{value} (n = {self.n} {self.over}{plural})"


@dataclass(frozen=True)
class NotComparable:
    """Why a claim cannot be judged on this run (what the summary records as a departure)."""

    reason: str


Measurement = Measure | NotComparable


@dataclass(frozen=True)
class Claim:
    """One paper claim and its check over a study's summary."""

    key: str
    text: str
    source: str  # paper, table or section
    paper: str  # the paper's figure, as the paper gives it
    measure: Callable[[Mapping[str, Any]], Measurement]
    op: str  # ">=", "<=", ">", "<": our figure op threshold; "~": within tolerance of it
    threshold: float
    reason: str  # why this comparison tests the claim
    digits: int = 3
    tolerance: float = 0.0  # for "~"

    def test(self) -> str:
        if self.op == "~":
            return f"ours within {self.tolerance:g} of {self.threshold:g}"
        return f"ours {self.op} {self.threshold:g}"

    def passes(self, value: float) -> bool:
        if self.op == "~":
            return abs(value - self.threshold) <= self.tolerance
        return _COMPARE[self.op](value, self.threshold)

    def __post_init__(self) -> None:
        if self.op not in (*_COMPARE, "~"):
            raise ValueError(f"claim {self.key}: op must be one of {', '.join(_COMPARE)}, ~")


@dataclass(frozen=True)
class Verdict:
    study: str
    claim: Claim
    verdict: str
    ours: str
    note: str

    def row(self) -> dict[str, str]:
        """The verdict as plain strings (the tables' columns)."""
        return {
            "study": self.study,
            "claim": self.claim.text,
            "source": self.claim.source,
            "paper": self.claim.paper,
            "test": f"{self.claim.test()}: {self.claim.reason}",
            "ours": self.ours,
            "verdict": self.verdict,
            "note": self.note,
        }


def judge(study: str, claim: Claim, summary: Mapping[str, Any]) -> Verdict:
    """One claim's verdict on one study's summary (a missing figure is not comparable)."""
    try:
        measured = claim.measure(summary)
    except (KeyError, IndexError, TypeError, ValueError) as error:
        measured = NotComparable(f"the summary has no figure for it ({error!r})")
    if isinstance(measured, NotComparable):
        return Verdict(study, claim, NOT_COMPARABLE, "-", measured.reason)
    if not math.isfinite(measured.value):
        return Verdict(study, claim, NOT_COMPARABLE, "-", "our figure is not a number")
    holds = claim.passes(measured.value)
    return Verdict(study, claim, HOLDS if holds else FAILS, measured.text(claim.digits), "")


def evaluate(claims: Mapping[str, Sequence[Claim]], summary: Mapping[str, Any]) -> list[Verdict]:
    """Every claim of every study present in ``summary`` (a whole run's summary.json)."""
    return [
        judge(study, claim, summary[study])
        for study, study_claims in claims.items()
        if study in summary
        for claim in study_claims
    ]


def mean_sd(values: Iterable[float], over: str) -> Measure:
    """A :class:`Measure` of several values (sample standard deviation)."""
    values = [float(v) for v in values]
    if not values:
        raise ValueError("no values")
    n = len(values)
    mean = sum(values) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else None
    return Measure(mean, n, sd, over)


def lowest(values: Iterable[float], over: str) -> Measure:
    """The lowest of several values: a claim about every one of them holds if it holds."""
    values = [float(v) for v in values]
    if not values:
        raise ValueError("no values")
    return Measure(min(values), len(values), None, over, lowest=True)


COLUMNS = ("study", "claim", "source", "paper", "test", "ours", "verdict")


def markdown_table(verdicts: Sequence[Verdict]) -> str:
    """The verdicts as a Markdown table (the README's)."""
    lines = [
        "| " + " | ".join(COLUMNS) + " |",
        "| " + " | ".join("---" for _ in COLUMNS) + " |",
    ]
    for verdict in verdicts:
        row = verdict.row()
        cells = [row[column].replace("|", "/") for column in COLUMNS]
        if row["note"]:
            cells[-1] += f" ({row['note']})"
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def html_table(verdicts: Sequence[Verdict]) -> str:
    """The verdicts as the report's opening table."""
    if not verdicts:
        return "<p>No claims to judge: no study with claims is enabled.</p>"
    counts = {kind: sum(v.verdict == kind for v in verdicts) for kind in (HOLDS, FAILS)}
    head = "".join(f"<th>{escape(column)}</th>" for column in COLUMNS)
    body = []
    for verdict in verdicts:
        row = verdict.row()
        cells = [escape(row[column]) for column in COLUMNS]
        if row["note"]:
            cells[-1] += f"<br><small>{escape(row['note'])}</small>"
        body.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
    return (
        f"<p>{len(verdicts)} claims: {counts[HOLDS]} hold, {counts[FAILS]} do not hold, "
        f"{len(verdicts) - counts[HOLDS] - counts[FAILS]} are not comparable on this run. "
        "Each is checked against this run's summary (studies' sections below).</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )

"""Report sections of the macro-level and ImageNet experiments (paper Tables 2, 3 and 4).

The paper's ImageNet figures are shown beside ours only where ours were
computed with the network the paper used (VGG-16 with its ImageNet weights).
A row computed with random (or the user's own) weights goes into a separate
table, each row labelled "not comparable to the paper": its numbers say the
method ran, not that the paper's figures were reproduced.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fooled.report.html import escape, number, percent, table
from fooled.studies.collisions.paper import PAPER_IMAGENET

NOT_COMPARABLE = "not comparable to the paper"

_HEADER = (
    "case",
    "weights",
    "mean dist. dataset",
    "mean dist. optimised",
    "top-class acc. (interp.)",
    "top-class prob. target / interp.",
    "corners converged",
    "steps",
)

_TABLES = (
    ("2", "Table 2: ImageNet, micro level (VGG-16, FC-6)", ("2a", "2b")),
    ("3", "Table 3: ImageNet, macro level (VGG-16, FC-6)", ("3a", "3b")),
    ("4", "Table 4: ImageNet, macro level (VGG-16, FC-6)", ("4",)),
)


def comparable(record: Mapping[str, Any]) -> bool:
    """Only runs with the paper's network (ImageNet-trained weights) compare with its figures."""
    if record.get("dataset", "mnist") == "mnist":
        return True
    return str(record.get("weights", "")) == "imagenet" and record.get("model") in (None, "vgg16")


def annotate(record: dict[str, Any]) -> dict[str, Any]:
    """Add ``comparable_to_paper`` (and the reason when not) to a summary record."""
    record["comparable_to_paper"] = comparable(record)
    if not record["comparable_to_paper"]:
        record["not_comparable_reason"] = (
            f"weights '{record.get('weights')}': {NOT_COMPARABLE} (the paper used VGG-16's "
            "ImageNet weights)"
        )
    return record


def _cells(label: str, r: Mapping[str, Any]) -> list[str]:
    return [
        label,
        str(r.get("weights", "")),
        number(r.get("dist_dataset_mean"), grouped=True),
        number(r.get("dist_corners_mean"), grouped=True),
        percent(r.get("interp_top_class_accuracy")),
        f"{number(r.get('target_prob'), 3)} / {number(r.get('interp_prob_mean'), 3)}",
        f"{r.get('corners_converged', '—')}/{r.get('n_corners', '—')}",
        str(r.get("steps_run", "—")),
    ]


def _paper_cells(key: str) -> list[str]:
    paper = PAPER_IMAGENET[key]
    return [
        f"paper, Table {key}: {paper['case']}",
        "imagenet (VGG-16)",
        number(paper["dist_dataset_mean"], grouped=True),
        number(paper["dist_corners_mean"], grouped=True),
        percent(paper["interp_top_class_accuracy"]),
        f"{paper['target_prob']:.3f} / {paper['interp_prob_mean']:.3f}",
        "",
        "20000",
    ]


def mnist_macro_section(summary: Mapping[str, Any]) -> str:
    """The Table-3-style MNIST macro rows (the collisions_mnist section)."""
    experiments = summary["experiments"]
    parts: list[str] = []
    mnist_macro = [
        (n, r)
        for n, r in experiments.items()
        if r.get("mode") == "macro" and r.get("dataset", "mnist") == "mnist"
    ]
    parts.append("<h3>Table 3-style, MNIST macro level</h3>")
    parts.append(
        "<p class='note'>The macro method (composite of source digits from a patch database "
        "of MNIST training digits, only the per-pixel control weights optimised) on the "
        "trained MLP at <code>fc1</code>. The paper has no MNIST macro case; its Table 1 "
        "(micro, 10.21 / 1.28 / 100% / 1.0 / 1.0) is the closest reference. Distances on "
        "[0, 1] pixels.</p>"
    )
    if mnist_macro:
        parts.append(
            table(
                _HEADER,
                [
                    (
                        "" if r["corners_converged"] == r["n_corners"] else "bad",
                        _cells(f"{n}: {r['seed_class']} → {r['target_class']}, macro", r),
                    )
                    for n, r in mnist_macro
                ],
            )
        )
    else:
        parts.append("<p>No macro-level MNIST experiment in this configuration.</p>")
    return "".join(parts)


def tables_section(summary: Mapping[str, Any]) -> str:
    """Tables 2, 3 and 4 beside the paper (the collisions_imagenet section)."""
    experiments = summary["experiments"]
    parts: list[str] = []
    imagenet = [(n, r) for n, r in experiments.items() if r.get("dataset") == "imagenet"]
    for _, title, keys in _TABLES:
        parts.append(f"<h3>{escape(title)}</h3>")
        rows: list[tuple[str, Sequence[str]]] = []
        other: list[tuple[str, Sequence[str]]] = []
        for key in keys:
            rows.append(("paper", _paper_cells(key)))
            for name, r in imagenet:
                if r.get("table") != key:
                    continue
                label = f"this reproduction: {name}"
                if r.get("comparable_to_paper", comparable(r)):
                    rows.append(("", _cells(label, r)))
                else:
                    other.append(
                        ("random", _cells(f"{label} — {NOT_COMPARABLE} ({r.get('weights')})", r))
                    )
        parts.append(table(_HEADER, rows))
        if other:
            parts.append(
                f"<p class='note'><strong>Rows {NOT_COMPARABLE}:</strong> computed with weights "
                "other than VGG-16's ImageNet weights (random weights on a machine without "
                "them). They show the pipeline runs end to end; their numbers are not the "
                "paper's quantities and must not be read beside its figures.</p>"
            )
            parts.append(table(_HEADER, other))
    untabled = [n for n, r in imagenet if r.get("table") not in PAPER_IMAGENET]
    if untabled:
        parts.append(
            "<p class='note'>ImageNet experiments outside the paper's tables: "
            + escape(", ".join(untabled))
            + " (see the per-experiment details).</p>"
        )
    return "".join(parts)

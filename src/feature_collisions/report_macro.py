"""Report sections of the macro-level and ImageNet experiments (paper Tables 2, 3 and 4).

The paper's ImageNet figures are shown beside ours only where ours were
computed with the network the paper used (VGG-16 with its ImageNet weights).
A row computed with random (or the user's own) weights goes into a separate
table, each row labelled "not comparable to the paper": its numbers say the
method ran, not that the paper's figures were reproduced.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from feature_collisions.h5io import read_arrays
from feature_collisions.macro_config import PAPER_IMAGENET

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


def _num(value: Any, digits: int = 2) -> str:
    if value is None:
        return "—"
    value = float(value)
    return f"{value:,.{digits}f}" if np.isfinite(value) else "—"


def _pct(value: Any) -> str:
    if value is None:
        return "—"
    percent = float(value) * 100.0
    return f"{percent:.0f}%" if abs(percent - round(percent)) < 1e-9 else f"{percent:.2f}%"


def _cells(label: str, r: Mapping[str, Any]) -> list[str]:
    return [
        label,
        str(r.get("weights", "")),
        _num(r.get("dist_dataset_mean")),
        _num(r.get("dist_corners_mean")),
        _pct(r.get("interp_top_class_accuracy")),
        f"{_num(r.get('target_prob'), 3)} / {_num(r.get('interp_prob_mean'), 3)}",
        f"{r.get('corners_converged', '—')}/{r.get('n_corners', '—')}",
        str(r.get("steps_run", "—")),
    ]


def _paper_cells(key: str) -> list[str]:
    paper = PAPER_IMAGENET[key]
    return [
        f"paper, Table {key}: {paper['case']}",
        "imagenet (VGG-16)",
        _num(paper["dist_dataset_mean"]),
        _num(paper["dist_corners_mean"]),
        _pct(paper["interp_top_class_accuracy"]),
        f"{paper['target_prob']:.3f} / {paper['interp_prob_mean']:.3f}",
        "",
        "20000",
    ]


def _table(header: Sequence[str], rows: Sequence[tuple[str, Sequence[str]]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        f"<tr{f' class={chr(34)}{css}{chr(34)}' if css else ''}>"
        + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells)
        + "</tr>"
        for css, cells in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def tables_section(summary: Mapping[str, Any]) -> str:
    """Tables 2, 3 and 4 (ImageNet) and the Table-3-style MNIST macro rows."""
    experiments = summary["experiments"]
    parts: list[str] = []
    mnist_macro = [
        (n, r)
        for n, r in experiments.items()
        if r.get("mode") == "macro" and r.get("dataset", "mnist") == "mnist"
    ]
    parts.append("<h2>Table 3-style, MNIST macro level</h2>")
    parts.append(
        "<p class='note'>The macro method (composite of source digits from a patch database "
        "of MNIST training digits, only the per-pixel control weights optimised) on the "
        "trained MLP at <code>fc1</code>. The paper has no MNIST macro case; its Table 1 "
        "(micro, 10.21 / 1.28 / 100% / 1.0 / 1.0) is the closest reference. Distances on "
        "[0, 1] pixels.</p>"
    )
    if mnist_macro:
        parts.append(
            _table(
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

    imagenet = [(n, r) for n, r in experiments.items() if r.get("dataset") == "imagenet"]
    for _, title, keys in _TABLES:
        parts.append(f"<h2>{html.escape(title)}</h2>")
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
        parts.append(_table(_HEADER, rows))
        if other:
            parts.append(
                f"<p class='note'><strong>Rows {NOT_COMPARABLE}:</strong> computed with weights "
                "other than VGG-16's ImageNet weights (random weights on a machine without "
                "them). They show the pipeline runs end to end; their numbers are not the "
                "paper's quantities and must not be read beside its figures.</p>"
            )
            parts.append(_table(_HEADER, other))
    untabled = [n for n, r in imagenet if r.get("table") not in PAPER_IMAGENET]
    if untabled:
        parts.append(
            "<p class='note'>ImageNet experiments outside the paper's tables: "
            + html.escape(", ".join(untabled))
            + " (see the per-experiment details).</p>"
        )
    return "".join(parts)


def _display(image: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
    """An image for imshow: grey [0, 1] (MNIST, 2-D or one channel) or RGB 0-255 scaled."""
    image = np.asarray(image, np.float32)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim == 2:
        return image, {"cmap": "gray", "vmin": 0.0, "vmax": 1.0 if image.max() <= 1.0 else 255.0}
    scale = 255.0 if image.max() > 1.0 else 1.0
    return np.clip(image / scale, 0.0, 1.0), {}


def macro_figure(collide_path: Any, png) -> str | None:
    """Corners, their control-weight maps (largest weight, entropy) and top source patches."""
    try:
        arrays = read_arrays(
            collide_path,
            [
                "corners",
                "initial_image",
                "weight_max",
                "weight_entropy",
                "top_sources",
                "top_source_images",
            ],
        )
    except Exception:  # noqa: BLE001 - a micro artifact has none of these
        return None
    corners = arrays["corners"]
    n = corners.shape[0]
    shown = min(arrays["top_sources"].shape[1], 6)
    columns = max(n, 1) + 1
    rows = 3 + shown
    figure = Figure(figsize=(1.5 * columns, 1.5 * rows))
    axes = figure.subplots(rows, columns, squeeze=False)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
        ax.axis("off")
    image, style = _display(arrays["initial_image"])
    axes[0, 0].imshow(image, interpolation="nearest", **style)
    axes[0, 0].set_title("G(P0, Q)", fontsize=7)
    axes[0, 0].axis("on")
    axes[1, 0].text(0.5, 0.5, "largest\ncontrol weight", ha="center", va="center", fontsize=7)
    axes[2, 0].text(0.5, 0.5, "weight\nentropy", ha="center", va="center", fontsize=7)
    if shown:
        axes[3, 0].text(0.5, 0.5, "top sources\n(by weight)", ha="center", va="center", fontsize=7)
    for k in range(n):
        column = k + 1
        image, style = _display(corners[k])
        axes[0, column].imshow(image, interpolation="nearest", **style)
        axes[0, column].set_title(f"corner {k}", fontsize=7)
        axes[1, column].imshow(arrays["weight_max"][k], cmap="viridis", vmin=0.0, vmax=1.0)
        axes[2, column].imshow(arrays["weight_entropy"][k], cmap="magma")
        for j in range(shown):
            image, style = _display(arrays["top_source_images"][k, j])
            axes[3 + j, column].imshow(image, interpolation="nearest", **style)
            axes[3 + j, column].set_title(f"source {int(arrays['top_sources'][k, j])}", fontsize=6)
        for row in range(3 + shown):
            axes[row, column].axis("on")
    figure.tight_layout()
    return png(figure)

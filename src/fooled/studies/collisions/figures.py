"""The report's figures, each returned as an embeddable PNG ``data:`` URI.

Pictures carry what the tables cannot: corners that are far from the target
in pixels yet identical in the layer, a loss that plateaus above its
threshold, control weights concentrated on a few sources.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from fooled.core.h5io import read_arrays
from fooled.report.html import png

PLOT_POINTS = 2000  # loss curves are thinned to this many points per corner


def images_figure(
    seed: np.ndarray,
    target: np.ndarray,
    corners: np.ndarray,
    corner_classes: Sequence[int],
    corner_probabilities: Sequence[float],
    seed_class: int,
    target_class: int,
) -> str:
    """Seed, target, corners, and each corner minus the target on a diverging scale.

    The difference row is what makes the point of the paper visible: the
    corners are far from the target in pixels yet identical in the layer.
    """
    n = corners.shape[0]
    columns = n + 2
    figure = Figure(figsize=(1.35 * columns, 3.1))
    axes = figure.subplots(2, columns, squeeze=False)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    if corners.ndim == 4:  # RGB 0-255 (ImageNet): shown in colour, differences on 0-255
        _rgb_images(axes, seed, target, corners, corner_classes, corner_probabilities)
        return png(figure)
    axes[0, 0].imshow(seed, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    axes[0, 0].set_title(f"seed ({seed_class})", fontsize=8)
    axes[0, 1].imshow(target, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    axes[0, 1].set_title(f"target ({target_class})", fontsize=8)
    axes[1, 0].axis("off")
    axes[1, 1].axis("off")
    axes[1, 1].text(0.5, 0.5, "corner −\ntarget", ha="center", va="center", fontsize=8)
    differences = corners - target[None]
    limit = float(np.max(np.abs(differences))) if differences.size else 1.0
    limit = limit or 1.0
    image = None
    for k in range(n):
        axes[0, k + 2].imshow(corners[k], cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
        axes[0, k + 2].set_title(
            f"corner {k}: {corner_classes[k]} ({corner_probabilities[k]:.2f})", fontsize=7
        )
        image = axes[1, k + 2].imshow(
            differences[k], cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest"
        )
    if image is not None:
        figure.colorbar(image, ax=list(axes[1, 2:]), fraction=0.025, pad=0.01)
    return png(figure)


def _rgb_images(axes, seed, target, corners, corner_classes, corner_probabilities) -> None:
    def show(ax, image):
        ax.imshow(np.clip(np.asarray(image, np.float32) / 255.0, 0.0, 1.0))

    show(axes[0, 0], seed)
    axes[0, 0].set_title("seed", fontsize=8)
    show(axes[0, 1], target)
    axes[0, 1].set_title("target", fontsize=8)
    axes[1, 0].axis("off")
    axes[1, 1].axis("off")
    axes[1, 1].text(0.5, 0.5, "|corner −\ntarget|", ha="center", va="center", fontsize=8)
    for k in range(corners.shape[0]):
        show(axes[0, k + 2], corners[k])
        axes[0, k + 2].set_title(
            f"corner {k}: {corner_classes[k]} ({corner_probabilities[k]:.2f})", fontsize=7
        )
        difference = np.abs(np.asarray(corners[k], np.float32) - target).mean(axis=-1)
        axes[1, k + 2].imshow(difference, cmap="magma", vmin=0.0, vmax=255.0)


def _thin(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every k-th step so a 20,000-step curve draws fast; the last step is kept."""
    steps = np.arange(values.shape[0])
    if values.shape[0] <= PLOT_POINTS:
        return steps, values
    keep = np.unique(np.r_[np.linspace(0, values.shape[0] - 1, PLOT_POINTS).astype(int)])
    return steps[keep], values[keep]


def curves_figure(
    loss_pos: np.ndarray,
    loss_neg: np.ndarray,
    threshold: float,
    top_probability: np.ndarray,
    predicted: np.ndarray,
    target_class: int,
) -> str:
    """``L_pos`` and ``L_neg`` per corner, and the interpolations' top-class probabilities.

    ``L_pos`` is drawn on a log axis with the stopping threshold, so a plateau
    above it is obvious. ``L_neg`` goes negative by design (unit ``i`` is
    driven down), so it uses a symmetric-log axis.
    """
    figure = Figure(figsize=(12.0, 2.9))
    ax_pos, ax_neg, ax_hist = figure.subplots(1, 3)
    n = loss_pos.shape[1] if loss_pos.ndim == 2 else 0
    for k in range(n):
        steps, values = _thin(loss_pos[:, k])
        ax_pos.plot(steps, np.maximum(values, 1e-12), lw=1, label=f"corner {k}")
        steps, values = _thin(loss_neg[:, k])
        ax_neg.plot(steps, values, lw=1, label=f"corner {k}")
    ax_pos.axhline(threshold, color="k", ls="--", lw=1, label=f"threshold {threshold:g}")
    ax_pos.set_yscale("log")
    ax_pos.set_xlabel("step")
    ax_pos.set_title("L_pos", fontsize=9)
    ax_pos.legend(fontsize=6, loc="upper right")
    ax_neg.set_yscale("symlog", linthresh=1.0)
    ax_neg.set_xlabel("step")
    ax_neg.set_title("L_neg^i (symlog)", fontsize=9)
    bins = np.linspace(0.0, 1.0, 41)
    hits = predicted == target_class
    # Overlaid, not stacked: stacked bars on a log axis exaggerate the top layer.
    for selection, label, colour in (
        (hits, f"top class = {target_class}", "tab:blue"),
        (~hits, "other top class", "tab:red"),
    ):
        if selection.any():
            ax_hist.hist(
                top_probability[selection],
                bins=bins,
                histtype="stepfilled",
                alpha=0.6,
                label=f"{label} ({int(selection.sum())})",
                color=colour,
            )
    ax_hist.set_yscale("log")
    ax_hist.set_xlabel("top-class probability")
    ax_hist.set_title(f"{top_probability.size} interpolations", fontsize=9)
    ax_hist.legend(fontsize=6, loc="upper left")
    # Fixed margins: tight_layout measured every tick label of the three axes again, about
    # a fifth of the report's time over the default run's 25 figures.
    figure.subplots_adjust(left=0.05, right=0.99, bottom=0.17, top=0.9, wspace=0.22)
    return png(figure)


def overview_figure(
    names: Sequence[str], records: Sequence[Mapping[str, Any]], paper: Mapping[str, float]
) -> str:
    """Distances and interpolation accuracy across experiments, paper values as lines."""
    figure = Figure(figsize=(12.0, 3.2))
    ax_dist, ax_acc = figure.subplots(1, 2)
    x = np.arange(len(names))
    ax_dist.bar(x - 0.2, [r["dist_corners_mean"] for r in records], 0.4, label="corners")
    ax_dist.bar(x + 0.2, [r["dist_dataset_mean"] for r in records], 0.4, label="dataset")
    ax_dist.axhline(paper["dist_corners_mean"], color="tab:blue", ls="--", lw=1)
    ax_dist.axhline(paper["dist_dataset_mean"], color="tab:orange", ls="--", lw=1)
    ax_dist.set_title("mean pairwise L2 (dashed: paper)", fontsize=9)
    ax_dist.legend(fontsize=7)
    ax_acc.bar(x, [r["interp_top_class_accuracy"] for r in records], 0.6, color="tab:green")
    ax_acc.axhline(paper["interp_top_class_accuracy"], color="k", ls="--", lw=1)
    ax_acc.set_ylim(0.0, 1.05)
    ax_acc.set_title("interpolation top-class accuracy (dashed: paper)", fontsize=9)
    for ax in (ax_dist, ax_acc):
        ax.set_xticks(x)
        ax.set_xticklabels(names, rotation=60, ha="right", fontsize=6)
    figure.tight_layout()
    return png(figure)


def lp_corners_figure(
    lp_corners: np.ndarray, gradient_corners: np.ndarray, certified: np.ndarray
) -> str:
    """LP corners above the gradient corners of the same units, on the same pixel scale."""
    n = max(len(lp_corners), len(gradient_corners), 1)
    figure = Figure(figsize=(1.35 * n, 3.0))
    axes = figure.subplots(2, n, squeeze=False)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
        ax.axis("off")
    for row, (images, label) in enumerate(((lp_corners, "LP"), (gradient_corners, "gradient"))):
        for k in range(len(images)):
            ax = axes[row, k]
            ax.axis("on")
            if np.all(np.isfinite(images[k])):
                ax.imshow(images[k], cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
            else:
                ax.text(0.5, 0.5, "LP failed", ha="center", va="center", fontsize=7)
            title = f"{label} {k}"
            if row == 0 and k < len(certified):
                title += " ✓" if certified[k] else " ✗"
            ax.set_title(title, fontsize=7)
    figure.subplots_adjust(left=0.02, right=0.98, bottom=0.03, top=0.9, wspace=0.15, hspace=0.3)
    return png(figure)


def _display(image: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
    """An image for imshow: grey [0, 1] (MNIST, 2-D or one channel) or RGB 0-255 scaled."""
    image = np.asarray(image, np.float32)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim == 2:
        return image, {"cmap": "gray", "vmin": 0.0, "vmax": 1.0 if image.max() <= 1.0 else 255.0}
    scale = 255.0 if image.max() > 1.0 else 1.0
    return np.clip(image / scale, 0.0, 1.0), {}


def macro_figure(collide_path: Any) -> str | None:
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

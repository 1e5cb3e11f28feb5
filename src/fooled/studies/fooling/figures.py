"""The fooling study's figures: image grids with confidences, confidence against generation.

Confidence near 1 is drawn as its number of nines, ``-log10(1 - p)`` (2 =
99%, 4 = 99.99%), so the paper's thresholds are evenly spaced lines and the
last steps to 99.99% stay visible.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

MAX_NINES = 7.0  # float32 probabilities stop near 1 - 6e-8


def nines(probability: np.ndarray) -> np.ndarray:
    """``-log10(1 - p)``, capped at :data:`MAX_NINES`."""
    gap = np.clip(1.0 - np.asarray(probability, np.float64), 10.0**-MAX_NINES, 1.0)
    return -np.log10(gap)


def confidence_text(probability: float) -> str:
    """A confidence with enough digits to tell 99.99% from 99.9999%."""
    value = 100.0 * float(probability)
    return f"{value:.4f}%" if value >= 99.99 else f"{value:.2f}%"


def _display(image: np.ndarray, low: float, high: float) -> tuple[np.ndarray, dict]:
    scaled = (np.asarray(image, np.float64) - low) / (high - low)
    scaled = np.clip(np.nan_to_num(scaled), 0.0, 1.0)
    if scaled.ndim == 3 and scaled.shape[-1] == 3:
        return scaled, {}
    return scaled.reshape(scaled.shape[:2]), {"cmap": "gray", "vmin": 0.0, "vmax": 1.0}


def image_grid(
    images: np.ndarray,
    titles: Sequence[str],
    low: float,
    high: float,
    columns: int = 10,
    suptitle: str | None = None,
) -> Figure:
    """Images in rows of ``columns``, each with its title (class and confidence)."""
    count = len(images)
    columns = max(1, min(columns, count))
    rows = max(1, -(-count // columns))
    figure = Figure(figsize=(1.25 * columns, 1.45 * rows + (0.3 if suptitle else 0.0)))
    axes = figure.subplots(rows, columns, squeeze=False)
    for index, axis in enumerate(axes.flat):
        axis.set_axis_off()
        if index >= count:
            continue
        shown, options = _display(images[index], low, high)
        axis.imshow(shown, interpolation="nearest", **options)
        axis.set_title(titles[index], fontsize=7)
    if suptitle:
        figure.suptitle(suptitle, fontsize=9)
    figure.tight_layout()
    return figure


def confidence_curves(
    histories: np.ndarray,
    classes: Sequence[int],
    thresholds: Sequence[float],
    xlabel: str = "generation",
    title: str | None = None,
) -> Figure:
    """Best confidence per class against generation: median over runs, band min to max.

    ``histories`` is ``(runs, generations + 1, K)``.
    """
    histories = np.asarray(histories, np.float64)
    steps = np.arange(histories.shape[1])
    figure = Figure(figsize=(7.2, 3.4))
    axis = figure.subplots()
    colours = [f"C{k % 10}" for k in range(len(classes))]
    shown = nines(histories)
    for k, label in enumerate(classes):
        median = np.median(shown[:, :, k], axis=0)
        axis.plot(steps, median, color=colours[k], lw=1.0, label=str(label))
        if histories.shape[0] > 1:
            axis.fill_between(
                steps,
                shown[:, :, k].min(axis=0),
                shown[:, :, k].max(axis=0),
                color=colours[k],
                alpha=0.15,
                lw=0,
            )
    for threshold in thresholds:
        axis.axhline(float(nines(threshold)), color="0.4", lw=0.7, ls="--")
        axis.text(
            steps[-1], float(nines(threshold)), f" {100 * threshold:g}%", fontsize=7, va="center"
        )
    axis.set_xlabel(xlabel)
    axis.set_ylabel("best confidence, -log10(1 - p)")
    axis.set_ylim(0, MAX_NINES + 0.2)
    if len(classes) <= 10:
        axis.legend(
            title="class", fontsize=7, title_fontsize=7, loc="upper left", bbox_to_anchor=(1.08, 1)
        )
    if title:
        axis.set_title(title, fontsize=9)
    figure.tight_layout()
    return figure

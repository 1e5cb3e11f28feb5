"""The report stage: ``summary.json`` and one self-contained HTML page.

The paper reports a single MNIST case (Table 1). A reproduction that means
something shows that case beside the paper's row *and* the same columns over
every experiment that was run, with their spread and worst case, and says
plainly where the optimisation did not reach the paper's stopping criterion.
This module turns the collide/interpolate/model artifacts (docs/artifacts.md)
into those two outputs. It reads HDF5 only through :mod:`feature_collisions.h5io`
so that a missing file, dataset or attribute fails with one line naming it.

The page embeds every figure as a base64 PNG so it can be mailed, archived or
opened offline; it has no external assets.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from feature_collisions import report_macro
from feature_collisions.h5io import (
    ArtifactError,
    atomic_path,
    library_versions,
    read_arrays,
    read_attrs,
    sha256_file,
)

PathLike = str | os.PathLike[str]

# Table 1 of the paper (MNIST "3" -> "7", micro level, hidden layer 1 of a
# 2x256 MLP). The reproduction is judged against these numbers.
PAPER_TABLE1: dict[str, float] = {
    "dist_dataset_mean": 10.21,
    "dist_corners_mean": 1.28,
    "interp_top_class_accuracy": 1.0,
    "target_prob": 1.0,
    "interp_prob_mean": 1.0,
    "test_accuracy": 0.9664,
}

DEFAULT_PAPER_CASE = "paper_3_to_7"

# Columns averaged over experiments. Settings (learning rate, w_pos) are not
# outcomes, so they are listed per experiment but never averaged.
AGGREGATE_COLUMNS: tuple[str, ...] = (
    "interp_top_class_accuracy",
    "target_prob",
    "interp_prob_mean",
    "dist_corners_mean",
    "dist_dataset_mean",
    "dist_ratio",
    "corners_converged",
    "n_corners",
    "corners_classified_as_target",
    "max_flipped_units",
    "steps_run",
    "seconds",
)

_COLLIDE_ATTRS = (
    "experiment",
    "seed_class",
    "seed_index",
    "target_class",
    "target_index",
    "target_predicted_class",
    "layer",
    "steps_run",
    "seconds",
    "optimizer",
    "learning_rate",
    "w_pos",
    "w_neg",
    "threshold",
    "max_steps",
    "n_corners",
)
_INTERP_ATTRS = (
    "experiment",
    "target_class",
    "target_prob",
    "interp_top_class_accuracy",
    "interp_prob_mean",
    "dist_corners_mean",
    "dist_dataset_mean",
    "seconds",
)
_MODEL_ATTRS = ("test_accuracy", "test_loss", "epochs")
_POLYTOPE_ATTRS = (
    "experiment",
    "mode",
    "tolerance",
    "n_lp",
    "rank_pos",
    "n_positive_units",
    "equality_dim",
    "dist_lp_corners_mean",
    "dist_gradient_corners_mean",
    "dist_dataset_mean",
    "interp_top_class_accuracy",
    "interp_certified_fraction",
    "seconds_per_lp",
    "seconds",
)

_DPI = 80
_PLOT_POINTS = 2000  # loss curves are thinned to this many points per corner


# --------------------------------------------------------------------------
# Reading artifacts
# --------------------------------------------------------------------------


def _require_attrs(path: PathLike, names: Sequence[str]) -> dict[str, Any]:
    """All of ``names`` from the file's attributes, or one line naming the gap.

    ``read_attrs`` returns whatever is there; a report built from an artifact
    that lacks a field would silently show a wrong table, so fail instead.
    """
    attrs = read_attrs(path)
    for name in names:
        if name not in attrs:
            raise ArtifactError(f"{path}: attribute '{name}' is missing")
    return attrs


def _float_or_none(value: Any) -> float | None:
    """JSON has no NaN; an undefined number becomes ``null``."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _nan_max(values: np.ndarray) -> float | None:
    """Largest finite value, ``None`` when there is none (a failed LP's point is NaN)."""
    values = np.asarray(values, dtype=np.float64)
    finite = values[np.isfinite(values)]
    return float(finite.max()) if finite.size else None


def collect_exact(polytope_path: PathLike) -> dict[str, Any]:
    """The ``exact`` section of one experiment: LP corners and both kinds of certificate.

    ``max_equality_error``, ``max_negative_unit_preactivation`` and
    ``class_preserved`` describe the feasible LP corners (the certified
    counterpart of the paper's corners); ``gradient`` holds the same numbers
    for the gradient corners of rule ``collide``, which are approximate.
    """
    attrs = _require_attrs(polytope_path, _POLYTOPE_ATTRS)
    arrays = read_arrays(
        polytope_path,
        [
            "lp_status",
            "lp_feasible",
            "lp_certificate/max_equality_error",
            "lp_certificate/max_negative_preact",
            "lp_certificate/class_preserved",
            "lp_certificate/certified",
            "gradient_certificate/max_equality_error",
            "gradient_certificate/max_negative_preact",
            "gradient_certificate/class_preserved",
            "gradient_certificate/certified",
            "pixel_ranges/pixels",
            "pixel_ranges/low",
            "pixel_ranges/high",
        ],
    )
    feasible = np.asarray(arrays["lp_feasible"], dtype=bool)
    lp_preserved = np.asarray(arrays["lp_certificate/class_preserved"], dtype=bool)
    grad_preserved = np.asarray(arrays["gradient_certificate/class_preserved"], dtype=bool)
    pixels = np.asarray(arrays["pixel_ranges/pixels"], dtype=np.int64).reshape(-1, 2)
    return {
        "mode": str(attrs["mode"]),
        "lp_corners": int(feasible.sum()),
        "n_lp": int(attrs["n_lp"]),
        "lp_status": [int(v) for v in arrays["lp_status"]],
        "lp_certified": int(np.sum(arrays["lp_certificate/certified"])),
        "max_equality_error": _nan_max(arrays["lp_certificate/max_equality_error"][feasible]),
        "max_negative_unit_preactivation": _nan_max(
            arrays["lp_certificate/max_negative_preact"][feasible]
        ),
        "class_preserved": bool(feasible.any() and lp_preserved[feasible].all()),
        "gradient": {
            "certified": int(np.sum(arrays["gradient_certificate/certified"])),
            "n_corners": int(grad_preserved.size),
            "max_equality_error": _nan_max(arrays["gradient_certificate/max_equality_error"]),
            "max_negative_unit_preactivation": _nan_max(
                arrays["gradient_certificate/max_negative_preact"]
            ),
            "class_preserved": bool(grad_preserved.size and grad_preserved.all()),
        },
        "tolerance": float(attrs["tolerance"]),
        "rank_pos": int(attrs["rank_pos"]),
        "n_positive_units": int(attrs["n_positive_units"]),
        "equality_dim": int(attrs["equality_dim"]),
        "dist_lp_corners_mean": _float_or_none(attrs["dist_lp_corners_mean"]),
        "dist_gradient_corners_mean": _float_or_none(attrs["dist_gradient_corners_mean"]),
        "dist_dataset_mean": _float_or_none(attrs["dist_dataset_mean"]),
        "interp_top_class_accuracy": _float_or_none(attrs["interp_top_class_accuracy"]),
        "interp_certified_fraction": _float_or_none(attrs["interp_certified_fraction"]),
        "pixel_ranges": [
            {"pixel": [int(r), int(c)], "min": _float_or_none(lo), "max": _float_or_none(hi)}
            for (r, c), lo, hi in zip(
                pixels, arrays["pixel_ranges/low"], arrays["pixel_ranges/high"], strict=True
            )
        ],
        "seconds_per_lp": _float_or_none(attrs["seconds_per_lp"]),
        "seconds": float(attrs["seconds"]),
    }


def collect_experiment(
    collide_path: PathLike,
    interpolate_path: PathLike,
    polytope_path: PathLike | None = None,
) -> dict[str, Any]:
    """One experiment's record: its settings, outcomes and the paper's columns.

    Both files must name the same experiment: the lists handed over by the
    workflow are matched by position, and a shuffled pair would otherwise put
    one experiment's interpolation beside another's corners unnoticed. The
    same holds for ``polytope_path`` (rule ``polytope``, fc1 experiments
    only); without it the record's ``exact`` is ``None``.
    """
    collide = _require_attrs(collide_path, _COLLIDE_ATTRS)
    interp = _require_attrs(interpolate_path, _INTERP_ATTRS)
    if str(collide["experiment"]) != str(interp["experiment"]):
        raise ArtifactError(
            f"{interpolate_path}: experiment '{interp['experiment']}' does not match "
            f"'{collide['experiment']}' of {collide_path}"
        )
    exact = None
    if polytope_path is not None:
        polytope_experiment = str(_require_attrs(polytope_path, ("experiment",))["experiment"])
        if polytope_experiment != str(collide["experiment"]):
            raise ArtifactError(
                f"{polytope_path}: experiment '{polytope_experiment}' does not match "
                f"'{collide['experiment']}' of {collide_path}"
            )
        exact = collect_exact(polytope_path)
    arrays = read_arrays(
        collide_path,
        ["converged", "corner_classes", "corner_probabilities", "flipped_units", "loss_pos"],
    )
    converged = np.asarray(arrays["converged"], dtype=bool)
    classes = np.asarray(arrays["corner_classes"], dtype=np.int64)
    probabilities = np.asarray(arrays["corner_probabilities"], dtype=np.float64)
    flipped = np.asarray(arrays["flipped_units"], dtype=np.int64)
    loss_pos = np.asarray(arrays["loss_pos"], dtype=np.float64)
    n_corners = int(converged.shape[0])
    if classes.shape != (n_corners,) or probabilities.shape[0] != n_corners:
        raise ArtifactError(
            f"{collide_path}: corner_classes {classes.shape} / corner_probabilities "
            f"{probabilities.shape} do not match converged ({n_corners},)"
        )
    own_probability = probabilities[np.arange(n_corners), classes] if n_corners else np.empty(0)
    final_loss_pos = (
        loss_pos[-1] if loss_pos.ndim == 2 and loss_pos.shape[0] else np.full(n_corners, np.nan)
    )
    target_prediction = int(interp["target_class"])
    dist_corners = float(interp["dist_corners_mean"])
    dist_dataset = float(interp["dist_dataset_mean"])
    return {
        "name": str(collide["experiment"]),
        "mode": str(collide.get("mode", "micro")),
        "seed_class": int(collide["seed_class"]),
        "seed_index": int(collide["seed_index"]),
        "target_class": int(collide["target_class"]),
        "target_index": int(collide["target_index"]),
        "target_predicted_class": int(collide["target_predicted_class"]),
        "layer": str(collide["layer"]),
        "optimizer": str(collide["optimizer"]),
        "learning_rate": float(collide["learning_rate"]),
        "w_pos": float(collide["w_pos"]),
        "w_neg": float(collide["w_neg"]),
        "threshold": float(collide["threshold"]),
        "max_steps": int(collide["max_steps"]),
        "steps_run": int(collide["steps_run"]),
        "corners_converged": int(converged.sum()),
        "n_corners": n_corners,
        "interp_top_class_accuracy": float(interp["interp_top_class_accuracy"]),
        "target_prob": float(interp["target_prob"]),
        "interp_prob_mean": float(interp["interp_prob_mean"]),
        "dist_corners_mean": dist_corners,
        "dist_dataset_mean": dist_dataset,
        "dist_ratio": _float_or_none(dist_corners / dist_dataset if dist_dataset else math.nan),
        "seconds": float(collide["seconds"]),
        "interpolate_seconds": float(interp["seconds"]),
        "corner_classes": [int(c) for c in classes],
        "corner_probabilities": [float(p) for p in own_probability],
        "corners_classified_as_target": int(np.sum(classes == target_prediction)),
        "final_loss_pos": [_float_or_none(v) for v in final_loss_pos],
        "max_flipped_units": int(flipped.max()) if flipped.size else 0,
        "exact": exact,
    } | _macro_fields(collide)


def _macro_fields(collide: Mapping[str, Any]) -> dict[str, Any]:
    """Dataset, weights and, for macro/ImageNet artifacts, their extra settings (issue #4)."""
    fields: dict[str, Any] = {
        "dataset": str(collide.get("dataset", "mnist")),
        "weights": str(collide.get("weights", "trained")),
    }
    for key in ("model", "table", "seed_name", "target_name"):
        if collide.get(key) not in (None, ""):
            fields[key] = str(collide[key])
    for key in ("w_tv", "n_sources", "resumed_from"):
        if key in collide:
            fields[key] = float(collide[key]) if key == "w_tv" else int(collide[key])
    return report_macro.annotate(fields)


def _is_mnist_micro(record: Mapping[str, Any]) -> bool:
    return record.get("mode", "micro") == "micro" and record.get("dataset", "mnist") == "mnist"


def read_model_metrics(metrics_path: PathLike) -> dict[str, Any]:
    """The model's test accuracy, loss and epochs (Table 1's last column)."""
    attrs = _require_attrs(metrics_path, _MODEL_ATTRS)
    record: dict[str, Any] = {
        "test_accuracy": float(attrs["test_accuracy"]),
        "test_loss": float(attrs["test_loss"]),
        "epochs": int(attrs["epochs"]),
    }
    if "train_seconds" in attrs:
        record["train_seconds"] = float(attrs["train_seconds"])
    return record


def stage_seconds(
    metrics_paths: Mapping[str, PathLike],
    collide_paths: Mapping[str, PathLike],
    interpolate_paths: Mapping[str, PathLike],
    polytope_paths: Mapping[str, PathLike] | None = None,
) -> dict[str, float]:
    """Seconds each stage spent, from the artifacts' own timing attributes.

    Keys are ``train_model/<model>``, ``collide/<experiment>``,
    ``interpolate/<experiment>`` and ``polytope/<experiment>``; a missing
    timing is skipped rather than invented, since a timing table is
    informative, not a contract.
    """
    seconds: dict[str, float] = {}
    for name, path in metrics_paths.items():
        value = read_attrs(path).get("train_seconds")
        if value is not None:
            seconds[f"train_model/{name}"] = float(value)
    for stage, paths in (
        ("collide", collide_paths),
        ("interpolate", interpolate_paths),
        ("polytope", polytope_paths or {}),
    ):
        for name, path in paths.items():
            value = read_attrs(path).get("seconds")
            if value is not None:
                seconds[f"{stage}/{name}"] = float(value)
    return seconds


def report_provenance(inputs: Mapping[str, PathLike]) -> dict[str, Any]:
    """What the report was built from: versions here, checksums and upstream provenance.

    Upstream artifacts carry their own ``library_versions`` and ``config_digest``;
    listing the distinct values shows at a glance whether every stage ran in
    the same environment and from the same settings.
    """
    checksums = {name: sha256_file(path) for name, path in inputs.items()}
    upstream_versions: dict[str, set[str]] = {}
    digests: dict[str, str] = {}
    for name, path in inputs.items():
        if not str(path).endswith(".h5"):
            continue
        attrs = read_attrs(path)
        if "config_digest" in attrs:
            digests[name] = str(attrs["config_digest"])
        try:
            versions = json.loads(attrs.get("library_versions", "{}"))
        except (TypeError, json.JSONDecodeError):
            versions = {}
        for library, version in versions.items():
            upstream_versions.setdefault(library, set()).add(str(version))
    return {
        "library_versions": library_versions(),
        "upstream_library_versions": {k: sorted(v) for k, v in sorted(upstream_versions.items())},
        "input_checksums": checksums,
        "config_digests": digests,
    }


# --------------------------------------------------------------------------
# summary.json
# --------------------------------------------------------------------------


def _aggregate(experiments: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, float | None]]:
    """Mean, sample std (ddof=1, ``null`` for one experiment), min and max per column."""
    result: dict[str, dict[str, float | None]] = {}
    for column in AGGREGATE_COLUMNS:
        values = np.array(
            [float(r[column]) for r in experiments if r.get(column) is not None], dtype=np.float64
        )
        if values.size == 0:
            result[column] = {"mean": None, "std": None, "min": None, "max": None, "n": 0}
            continue
        result[column] = {
            "mean": _float_or_none(values.mean()),
            "std": _float_or_none(values.std(ddof=1)) if values.size > 1 else None,
            "min": _float_or_none(values.min()),
            "max": _float_or_none(values.max()),
            "n": int(values.size),
        }
    return result


def build_summary(
    model_metrics: Mapping[str, PathLike],
    experiments: Sequence[Mapping[str, Any]],
    stage_seconds: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """The ``summary.json`` document (docs/artifacts.md): model, experiments, aggregate, paper.

    ``model_metrics`` maps a model name (``"mnist_mlp"``) to its ``metrics.h5``;
    ``experiments`` are records from :func:`collect_experiment`.
    """
    names = [str(r["name"]) for r in experiments]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"experiment names appear more than once: {', '.join(duplicates)}")
    summary: dict[str, Any] = {
        "model": {name: read_model_metrics(path) for name, path in model_metrics.items()},
        "experiments": {
            str(r["name"]): {k: v for k, v in r.items() if k != "name"} for r in experiments
        },
        "aggregate": _aggregate([r for r in experiments if _is_mnist_micro(r)]),
        "paper": dict(PAPER_TABLE1),
    }
    if any(r.get("dataset") == "imagenet" for r in experiments):
        summary["paper_imagenet"] = dict(report_macro.PAPER_IMAGENET)
    if stage_seconds is not None:
        summary["stage_seconds"] = {k: float(v) for k, v in stage_seconds.items()}
    return summary


def summary_json(summary: Mapping[str, Any]) -> str:
    """Strict JSON (NaN refused: it would not parse in most readers)."""
    return json.dumps(summary, indent=2, sort_keys=False, allow_nan=False) + "\n"


# --------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------


def _png(figure: Figure) -> str:
    """A figure as a base64 PNG ``data:`` URI, so the page needs no other file."""
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _img(uri: str, alt: str) -> str:
    return f'<img src="{uri}" alt="{html.escape(alt)}">'


def _images_figure(
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
        return _png(figure)
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
    return _png(figure)


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
    if values.shape[0] <= _PLOT_POINTS:
        return steps, values
    keep = np.unique(np.r_[np.linspace(0, values.shape[0] - 1, _PLOT_POINTS).astype(int)])
    return steps[keep], values[keep]


def _curves_figure(
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
    figure.tight_layout()
    return _png(figure)


def _overview_figure(summary: Mapping[str, Any]) -> str:
    """Distances and interpolation accuracy across experiments, paper values as lines."""
    names = [n for n, r in summary["experiments"].items() if _is_mnist_micro(r)]
    records = [summary["experiments"][n] for n in names]
    figure = Figure(figsize=(12.0, 3.2))
    ax_dist, ax_acc = figure.subplots(1, 2)
    x = np.arange(len(names))
    ax_dist.bar(x - 0.2, [r["dist_corners_mean"] for r in records], 0.4, label="corners")
    ax_dist.bar(x + 0.2, [r["dist_dataset_mean"] for r in records], 0.4, label="dataset")
    ax_dist.axhline(PAPER_TABLE1["dist_corners_mean"], color="tab:blue", ls="--", lw=1)
    ax_dist.axhline(PAPER_TABLE1["dist_dataset_mean"], color="tab:orange", ls="--", lw=1)
    ax_dist.set_title("mean pairwise L2 (dashed: paper)", fontsize=9)
    ax_dist.legend(fontsize=7)
    ax_acc.bar(x, [r["interp_top_class_accuracy"] for r in records], 0.6, color="tab:green")
    ax_acc.axhline(PAPER_TABLE1["interp_top_class_accuracy"], color="k", ls="--", lw=1)
    ax_acc.set_ylim(0.0, 1.05)
    ax_acc.set_title("interpolation top-class accuracy (dashed: paper)", fontsize=9)
    for ax in (ax_dist, ax_acc):
        ax.set_xticks(x)
        ax.set_xticklabels(names, rotation=60, ha="right", fontsize=6)
    figure.tight_layout()
    return _png(figure)


# --------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------

_CSS = """
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


def _e(value: Any) -> str:
    return html.escape(str(value))


def _num(value: Any, digits: int = 2) -> str:
    if value is None:
        return "—"
    value = float(value)
    return f"{value:.{digits}f}" if math.isfinite(value) else "—"


def _pct(value: Any) -> str:
    """Percent with no decimals when exact (the paper's "100%"), else two."""
    if value is None or not math.isfinite(float(value)):
        return "—"
    percent = float(value) * 100.0
    return f"{percent:.0f}%" if abs(percent - round(percent)) < 1e-9 else f"{percent:.2f}%"


def _prob(value: Any) -> str:
    return _num(value, 3)


def _table(header: Sequence[str], rows: Sequence[tuple[str, Sequence[str]]]) -> str:
    """An HTML table; cells are escaped here, row classes are trusted constants."""
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = []
    for css, cells in rows:
        attr = f' class="{css}"' if css else ""
        body.append(f"<tr{attr}>" + "".join(f"<td>{_e(c)}</td>" for c in cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


_TABLE1_HEADER = (
    "case",
    "mean dist. dataset",
    "mean dist. optimised",
    "top-class acc. (interp.)",
    "top-class prob. target / interp.",
    "test acc.",
)


def _model_accuracy(summary: Mapping[str, Any], record: Mapping[str, Any]) -> float | None:
    models = summary.get("model", {})
    if record.get("model") in models:
        return models[record["model"]]["test_accuracy"]
    if len(models) == 1:
        return next(iter(models.values()))["test_accuracy"]
    return None


def _table1_cells(label: str, record: Mapping[str, Any], test_accuracy: Any) -> list[str]:
    return [
        label,
        _num(record.get("dist_dataset_mean")),
        _num(record.get("dist_corners_mean")),
        _pct(record.get("interp_top_class_accuracy")),
        f"{_prob(record.get('target_prob'))} / {_prob(record.get('interp_prob_mean'))}",
        _pct(test_accuracy),
    ]


def _paper_cells() -> list[str]:
    paper = PAPER_TABLE1
    return [
        'paper, Table 1 (MNIST "3" → "7", micro)',
        _num(paper["dist_dataset_mean"]),
        _num(paper["dist_corners_mean"]),
        _pct(paper["interp_top_class_accuracy"]),
        f"{paper['target_prob']:.1f} / {paper['interp_prob_mean']:.1f}",
        _pct(paper["test_accuracy"]),
    ]


def _all_experiments_table(summary: Mapping[str, Any]) -> str:
    """Every experiment's row, then mean, std and worst case over all of them."""
    header = (
        "experiment",
        "seed → target",
        "w_pos",
        "mean dist. dataset",
        "mean dist. optimised",
        "ratio",
        "top-class acc.",
        "prob. target",
        "prob. interp.",
        "corners converged",
        "certified: gradient / LP",
        "steps",
        "seconds",
    )
    rows: list[tuple[str, Sequence[str]]] = []
    for name, r in summary["experiments"].items():
        if not _is_mnist_micro(r):
            continue  # macro and ImageNet experiments have their own tables
        all_converged = r["corners_converged"] == r["n_corners"]
        rows.append(
            (
                "" if all_converged else "bad",
                [
                    name,
                    f"{r['seed_class']} → {r['target_class']}",
                    f"{r['w_pos']:g}",
                    _num(r["dist_dataset_mean"]),
                    _num(r["dist_corners_mean"]),
                    _num(r.get("dist_ratio"), 3),
                    _pct(r["interp_top_class_accuracy"]),
                    _prob(r["target_prob"]),
                    _prob(r["interp_prob_mean"]),
                    f"{r['corners_converged']}/{r['n_corners']}",
                    _certified_cell(r.get("exact")),
                    str(r["steps_run"]),
                    _num(r["seconds"], 1),
                ],
            )
        )
    agg = summary["aggregate"]

    def stat_row(label: str, stat: str) -> list[str]:
        def a(column: str) -> Any:
            return agg[column][stat]

        return [
            label,
            "",
            "",
            _num(a("dist_dataset_mean")),
            _num(a("dist_corners_mean")),
            _num(a("dist_ratio"), 3),
            _pct(a("interp_top_class_accuracy")),
            _prob(a("target_prob")),
            _prob(a("interp_prob_mean")),
            _num(a("corners_converged"), 2),
            "",
            _num(a("steps_run"), 0),
            _num(a("seconds"), 1),
        ]

    rows.append(("agg", stat_row("mean", "mean")))
    rows.append(("agg", stat_row("std", "std")))
    worst = [
        "worst case",
        "",
        "",
        _num(agg["dist_dataset_mean"]["min"]),
        _num(agg["dist_corners_mean"]["max"]),
        _num(agg["dist_ratio"]["max"], 3),
        _pct(agg["interp_top_class_accuracy"]["min"]),
        _prob(agg["target_prob"]["min"]),
        _prob(agg["interp_prob_mean"]["min"]),
        _num(agg["corners_converged"]["min"], 0),
        "",
        _num(agg["steps_run"]["max"], 0),
        _num(agg["seconds"]["max"], 1),
    ]
    rows.append(("agg", worst))
    return _table(header, rows)


def _certified_cell(exact: Mapping[str, Any] | None) -> str:
    """``gradient k/n, LP k/n`` certified corners; a dash where no LP was run (not fc1)."""
    if not exact:
        return "—"
    gradient = exact["gradient"]
    return (
        f"{gradient['certified']}/{gradient['n_corners']} / {exact['lp_certified']}/{exact['n_lp']}"
    )


def _polytope_section(summary: Mapping[str, Any]) -> str:
    """The exact collision polytope of fc1: certificates, size and spreads per experiment."""
    experiments = [(n, r) for n, r in summary["experiments"].items() if r.get("exact")]
    parts = ["<h2>Exact collision polytope (fc1, linear programming)</h2>"]
    if not experiments:
        parts.append(
            "<p>No experiment on layer <code>fc1</code>: the exact polytope was not computed.</p>"
        )
        return "".join(parts)
    tolerance = experiments[0][1]["exact"]["tolerance"]
    parts.append(
        "<p class='note'>On the first layer the collision set is exactly a polytope: "
        "<code>W_pos^T x + b_pos = f0(t)_pos</code>, <code>W_neg^T x + b_neg &le; 0</code>, "
        "<code>0 &le; x &le; 1</code>. Each LP corner solves one linear program (HiGHS) for the "
        "same negative unit <code>i</code> as the gradient corner. A point is <em>certified</em> "
        f"when, within {_e(f'{tolerance:g}')}, the equalities and half-spaces hold (float64), "
        "and the network's later activations and predicted class equal the target's (float32). "
        "Gradient corners stop at <code>L_pos &lt; threshold</code>, so they are approximate "
        "collisions and are not expected to certify. The interpolation column is the "
        "fraction of random convex combinations of the LP corners that certify (convexity "
        "guarantees all of them in exact arithmetic). The rank of <code>W_pos</code> fixes "
        "the dimension of the flat the polytope lies in (784 &minus; rank); the pixel ranges "
        "are each pixel's min and max over the whole polytope.</p>"
    )
    rows: list[tuple[str, Sequence[str]]] = []
    for name, r in experiments:
        exact = r["exact"]
        gradient = exact["gradient"]
        ranges = "; ".join(
            f"({p['pixel'][0]},{p['pixel'][1]}): {_num(p['min'])}–{_num(p['max'])}"
            for p in exact["pixel_ranges"]
        )
        certified_all = exact["lp_certified"] == exact["n_lp"]
        rows.append(
            (
                "" if certified_all else "bad",
                [
                    name,
                    exact["mode"],
                    f"{exact['rank_pos']} / {exact['n_positive_units']}",
                    str(exact["equality_dim"]),
                    f"{exact['lp_corners']}/{exact['n_lp']}",
                    f"{exact['lp_certified']}/{exact['n_lp']}",
                    _sci(exact["max_equality_error"]),
                    _sci(exact["max_negative_unit_preactivation"]),
                    "yes" if exact["class_preserved"] else "no",
                    f"{gradient['certified']}/{gradient['n_corners']}",
                    _sci(gradient["max_equality_error"]),
                    _sci(gradient["max_negative_unit_preactivation"]),
                    "yes" if gradient["class_preserved"] else "no",
                    _pct(exact["interp_certified_fraction"]),
                    _num(exact["dist_lp_corners_mean"]),
                    _num(r.get("dist_corners_mean")),
                    _num(exact["dist_dataset_mean"]),
                    ranges,
                    _num(exact["seconds_per_lp"], 3),
                ],
            )
        )
    parts.append(
        _table(
            (
                "experiment",
                "mode",
                "rank W_pos / positive units",
                "flat dim.",
                "LP feasible",
                "LP certified",
                "LP max eq. error",
                "LP max neg. preact.",
                "LP class kept",
                "gradient certified",
                "gradient max eq. error",
                "gradient max neg. preact.",
                "gradient class kept",
                "interp. certified",
                "dist. LP corners",
                "dist. gradient corners",
                "dist. dataset",
                "pixel ranges (row,col): min–max",
                "s / LP",
            ),
            rows,
        )
    )
    return "".join(parts)


def _sci(value: Any) -> str:
    """Errors span 1e-9 (LP) to 1 (gradient): scientific notation keeps both readable."""
    if value is None or not math.isfinite(float(value)):
        return "—"
    return f"{float(value):.2e}"


def _lp_corners_figure(
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
    figure.tight_layout()
    return _png(figure)


def _plateau_rows(
    loss_pos: np.ndarray, converged: np.ndarray, steps: np.ndarray
) -> list[list[str]]:
    """Per corner: final and best ``L_pos`` and its relative change over the last 10% of steps.

    A change near zero with ``L_pos`` above the threshold is a plateau: more
    steps at these settings would not have produced a collision.
    """
    rows = []
    total = loss_pos.shape[0]
    for k in range(loss_pos.shape[1] if loss_pos.ndim == 2 else 0):
        column = loss_pos[:, k]
        if total == 0:
            rows.append(
                [str(k), "yes" if converged[k] else "no", str(int(steps[k])), "—", "—", "—"]
            )
            continue
        start = column[max(0, int(0.9 * total) - 1)]
        final = column[-1]
        change = (final - start) / abs(start) if start else float("nan")
        rows.append(
            [
                str(k),
                "yes" if converged[k] else "no",
                str(int(steps[k])),
                _num(final, 3),
                _num(column.min(), 3),
                f"{change:+.2%}" if math.isfinite(change) else "—",
            ]
        )
    return rows


def _non_converged_section(summary: Mapping[str, Any], collide_paths: Mapping[str, Any]) -> str:
    """An honest account of experiments that did not meet the paper's stopping rule."""
    failing = [
        (name, r)
        for name, r in summary["experiments"].items()
        if r["corners_converged"] < r["n_corners"]
    ]
    parts = ["<h2>Experiments where not every corner converged</h2>"]
    if not failing:
        parts.append("<p>Every corner of every experiment reached <code>L_pos</code> below ")
        parts.append("its threshold.</p>")
        return "".join(parts)
    parts.append(
        "<p class='note'>The paper stops when every corner's <code>L_pos</code> is below "
        "the threshold (5 on MNIST). The corners below did not get there within "
        "<code>max_steps</code>. They are <em>not</em> exact feature collisions: their "
        "pre-activations still differ from the target's on its positive units, so the "
        "interpolation numbers of these experiments are not comparable with the paper's "
        "and are reported only for completeness. A relative change near 0% over the last "
        "10% of steps means <code>L_pos</code> had plateaued (typically because "
        "<code>L_neg</code> outweighs it at this <code>w_pos</code>).</p>"
    )
    for name, r in failing:
        arrays = read_arrays(collide_paths[name], ["loss_pos", "converged", "converged_step"])
        parts.append(
            f"<h3><a href='#exp-{_e(name)}'>{_e(name)}</a>: {r['corners_converged']}/"
            f"{r['n_corners']} converged (w_pos={r['w_pos']:g}, lr={r['learning_rate']:g}, "
            f"threshold={r['threshold']:g}, {r['steps_run']}/{r['max_steps']} steps)</h3>"
        )
        rows = _plateau_rows(
            np.asarray(arrays["loss_pos"], dtype=np.float64),
            np.asarray(arrays["converged"], dtype=bool),
            np.asarray(arrays["converged_step"]),
        )
        parts.append(
            _table(
                (
                    "corner",
                    "converged",
                    "at step",
                    "final L_pos",
                    "min L_pos",
                    "change, last 10% of steps",
                ),
                [("" if row[1] == "yes" else "bad", row) for row in rows],
            )
        )
    return "".join(parts)


def _experiment_section(
    name: str,
    record: Mapping[str, Any],
    collide_path: PathLike,
    interpolate_path: PathLike,
    polytope_path: PathLike | None = None,
) -> str:
    """One experiment: settings, corner table, images and curves (and LP corners on fc1)."""
    arrays = read_arrays(
        collide_path,
        [
            "seed_image",
            "target_image",
            "corners",
            "negative_units",
            "loss_pos",
            "loss_neg",
            "converged",
            "converged_step",
            "flipped_units",
        ],
    )
    interp = read_arrays(interpolate_path, ["predicted", "top_probability"])
    corners = np.asarray(arrays["corners"], dtype=np.float32)
    images = _images_figure(
        np.asarray(arrays["seed_image"], dtype=np.float32),
        np.asarray(arrays["target_image"], dtype=np.float32),
        corners,
        record["corner_classes"],
        record["corner_probabilities"],
        record["seed_class"],
        record["target_class"],
    )
    curves = _curves_figure(
        np.asarray(arrays["loss_pos"], dtype=np.float64),
        np.asarray(arrays["loss_neg"], dtype=np.float64),
        float(record["threshold"]),
        np.asarray(interp["top_probability"], dtype=np.float64),
        np.asarray(interp["predicted"]),
        int(record["target_predicted_class"]),
    )
    corner_rows = []
    for k in range(corners.shape[0]):
        final = record["final_loss_pos"][k] if k < len(record["final_loss_pos"]) else None
        converged = bool(arrays["converged"][k])
        corner_rows.append(
            (
                "" if converged else "bad",
                [
                    str(k),
                    str(int(arrays["negative_units"][k])),
                    str(record["corner_classes"][k]),
                    _num(record["corner_probabilities"][k], 4),
                    "yes" if converged else "no",
                    str(int(arrays["converged_step"][k])),
                    _num(final, 3),
                    str(int(arrays["flipped_units"][k])),
                ],
            )
        )
    settings = (
        f"seed: test image {record['seed_index']} (class {record['seed_class']}); "
        f"target: test image {record['target_index']} (class {record['target_class']}, "
        f"predicted {record['target_predicted_class']} with p={_prob(record['target_prob'])}); "
        f"layer {record['layer']}; {record['optimizer']} lr={record['learning_rate']:g}, "
        f"w_pos={record['w_pos']:g}, w_neg={record['w_neg']:g}, "
        f"threshold={record['threshold']:g}; {record['steps_run']}/{record['max_steps']} steps "
        f"in {_num(record['seconds'], 1)} s"
    )
    lp_parts: list[str] = []
    if polytope_path is not None and record.get("exact"):
        lp = read_arrays(polytope_path, ["lp_corners", "lp_certificate/certified"])
        lp_parts.append(
            _img(
                _lp_corners_figure(
                    np.asarray(lp["lp_corners"], dtype=np.float32),
                    corners,
                    np.asarray(lp["lp_certificate/certified"], dtype=bool),
                ),
                f"{name}: LP corners (certified ✓) above the gradient corners",
            )
        )
    return "".join(
        [
            f"<section class='experiment' id='exp-{_e(name)}'>",
            f"<h3>{_e(name)} ({_e(record['mode'])})</h3>",
            f"<p class='note'>{_e(settings)}</p>",
            _table(
                (
                    "corner",
                    "negative unit i",
                    "class",
                    "probability",
                    "converged",
                    "at step",
                    "final L_pos",
                    "flipped units",
                ),
                corner_rows,
            ),
            _img(images, f"{name}: seed, target, corners and corner minus target"),
            _img(curves, f"{name}: loss curves and interpolation probabilities"),
            *lp_parts,
            *_macro_parts(name, record, collide_path),
            "</section>",
        ]
    )


def _macro_parts(name: str, record: Mapping[str, Any], collide_path: PathLike) -> list[str]:
    """The macro corners' control weights and source patches; a warning on random weights."""
    parts = []
    if not record.get("comparable_to_paper", True):
        parts.append(
            f"<p class='note'><strong>{_e(report_macro.NOT_COMPARABLE)}</strong>: "
            f"{_e(record.get('not_comparable_reason', ''))}</p>"
        )
    if record.get("mode") == "macro":
        figure = report_macro.macro_figure(collide_path, _png)
        if figure is not None:
            parts.append(
                _img(figure, f"{name}: corners, control weights and the top source patches")
            )
    return parts


def _provenance_section(
    summary: Mapping[str, Any], config: Mapping[str, Any], provenance: Mapping[str, Any]
) -> str:
    parts = ["<h2>Provenance</h2>"]
    seconds = dict(summary.get("stage_seconds") or provenance.get("stage_seconds") or {})
    if seconds:
        totals: dict[str, float] = {}
        for key, value in seconds.items():
            stage = key.split("/", 1)[0]
            totals[stage] = totals.get(stage, 0.0) + float(value)
        parts.append("<h3>Seconds per stage</h3>")
        parts.append(
            _table(
                ("stage", "jobs", "total seconds"),
                [
                    (
                        "",
                        [
                            stage,
                            str(sum(1 for k in seconds if k.split("/", 1)[0] == stage)),
                            _num(total, 1),
                        ],
                    )
                    for stage, total in totals.items()
                ],
            )
        )
        parts.append(
            _table(
                ("job", "seconds"),
                [("", [key, _num(value, 2)]) for key, value in seconds.items()],
            )
        )
    known = (
        ("library_versions", "Library versions (report stage)"),
        ("upstream_library_versions", "Library versions recorded by the upstream artifacts"),
        ("config_digests", "Config digests of the inputs"),
        ("input_checksums", "Input checksums (SHA-256)"),
    )
    for key, title in known:
        if key in provenance:
            parts.append(f"<h3>{_e(title)}</h3>")
            parts.append(f"<pre>{_e(json.dumps(provenance[key], indent=2, default=str))}</pre>")
    for key, value in provenance.items():
        if key in {k for k, _ in known} or key == "stage_seconds":
            continue
        parts.append(f"<h3>{_e(key)}</h3>")
        parts.append(f"<pre>{_e(json.dumps(value, indent=2, default=str))}</pre>")
    parts.append("<h3>Configuration</h3>")
    parts.append(f"<pre>{_e(json.dumps(config, indent=2, sort_keys=True, default=str))}</pre>")
    return "".join(parts)


def _index_section(summary: Mapping[str, Any]) -> str:
    """The ImageNet patch index's measured accuracy and speed (rule evaluate_index), if run."""
    index = summary.get("index")
    if not index:
        return ""
    speedup = (
        index["qps"] / index["qps_exact"] if index.get("qps") and index.get("qps_exact") else None
    )
    row = [
        f"{index['n_images']:,}",
        f"{index['n_patches']:,}",
        f"{index['factory']} {index.get('search_params', '')}".strip(),
        str(index.get("rerank_k", "-")),
        _num(index["recall_at_1"], 3),
        _num(index.get("recall_at_1_no_rerank_top1"), 3),
        f"{index['qps']:,.0f}",
        f"{index['qps_exact']:,.1f}",
        f"{speedup:,.0f}x" if speedup else "-",
        _num(index["build_seconds"], 1),
        f"{index['peak_rss_mb']:,.0f}",
        "GPU" if index.get("on_gpu") else "CPU",
    ]
    header = (
        "images",
        "patches",
        "index",
        "re-ranked",
        "recall@1",
        "recall@1 without re-ranking",
        "queries/s",
        "exact queries/s",
        "speed-up",
        "build s",
        "peak RSS MB",
        "device",
    )
    return (
        "<h2>ImageNet patch index</h2><p class='note'>Recall@1 against exact brute-force "
        "search (tie-aware) on query patches from held-out images, and queries per second of "
        "both, measured in one run by rule <code>evaluate_index</code>. The paper searched "
        "37,011,074 patches with Prioritized DCI at about 5 minutes per query.</p>"
        + _table(header, [("", row)])
    )


def render_report(
    summary: Mapping[str, Any],
    collide_paths: Mapping[str, PathLike],
    interpolate_paths: Mapping[str, PathLike],
    config: Mapping[str, Any],
    provenance: Mapping[str, Any],
    polytope_paths: Mapping[str, PathLike] | None = None,
) -> str:
    """The whole report as one self-contained HTML string.

    ``summary`` comes from :func:`build_summary`; the paths map experiment
    names to their artifacts (figures need the arrays, the summary keeps only
    numbers). ``config["report"]["paper_case"]`` names the experiment shown
    beside the paper's Table 1 row. ``polytope_paths`` (fc1 experiments only)
    adds the LP corners to each experiment's section.
    """
    polytope_paths = dict(polytope_paths or {})
    experiments = summary["experiments"]
    for name in experiments:
        if name not in collide_paths or name not in interpolate_paths:
            raise ArtifactError(f"experiment '{name}': no collide/interpolate artifact given")
    paper_case = str((config.get("report") or {}).get("paper_case", DEFAULT_PAPER_CASE))

    table1_rows: list[tuple[str, Sequence[str]]] = [("paper", _paper_cells())]
    if paper_case in experiments:
        record = experiments[paper_case]
        table1_rows.append(
            (
                "",
                _table1_cells(
                    f"this reproduction: {paper_case}", record, _model_accuracy(summary, record)
                ),
            )
        )
        table1_note = ""
    else:
        table1_note = (
            f"<p class='note'>The paper's case '{_e(paper_case)}' is not among the "
            "experiments run; see the table of all experiments below.</p>"
        )

    model_rows = [
        (
            "",
            [
                name,
                _pct(m["test_accuracy"]),
                _num(m["test_loss"], 4),
                str(m["epochs"]),
                _num(m.get("train_seconds"), 1),
            ],
        )
        for name, m in summary.get("model", {}).items()
    ]

    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<title>Approximate feature collisions: reproduction report</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>A study of robustness of neural nets using approximate feature collisions "
        "(Li, Zhang, Malik): reproduction report</h1>",
        "<h2>Table 1: MNIST, micro level</h2>",
        "<p class='note'>Distances are mean pairwise L2 on [0, 1] pixels (784-d): among the "
        "optimised corners, and among random test images. Accuracy is the fraction of 2,000 "
        "random convex combinations of the corners whose top class is the target's.</p>",
        _table(_TABLE1_HEADER, table1_rows),
        table1_note,
        "<h2>Model</h2>",
        _table(("model", "test acc.", "test loss", "epochs", "train seconds"), model_rows),
        f"<h2>All MNIST micro experiments "
        f"({sum(1 for r in experiments.values() if _is_mnist_micro(r))})</h2>",
        "<p class='note'>Red rows: not every corner reached <code>L_pos</code> below the "
        "threshold. Std is the sample standard deviation over experiments. Worst case: "
        "largest corner distance and ratio, smallest accuracy and probabilities. "
        "Certified: gradient corners / LP corners that are exact collisions (fc1 only; see "
        "the exact collision polytope below).</p>",
        _all_experiments_table(summary),
        report_macro.tables_section(summary),
    ]
    if experiments:
        parts.append(_img(_overview_figure(summary), "distances and accuracy per experiment"))
    parts.append(_non_converged_section(summary, collide_paths))
    parts.append(_polytope_section(summary))
    parts.append(_index_section(summary))
    parts.append("<h2>Per-experiment details</h2>")
    for name, record in experiments.items():
        parts.append(
            _experiment_section(
                name,
                record,
                collide_paths[name],
                interpolate_paths[name],
                polytope_paths.get(name),
            )
        )
    parts.append(_provenance_section(summary, config, provenance))
    parts.append("</body></html>\n")
    return "\n".join(parts)


def write_report(
    html_path: PathLike,
    summary_path: PathLike,
    summary: Mapping[str, Any],
    html: str,
) -> None:
    """Write both outputs atomically; the JSON first, so the HTML never outlives a failed JSON.

    The JSON is serialised before anything is written, so a NaN in the summary
    fails the stage without leaving either file behind.
    """
    text = summary_json(summary)
    with atomic_path(summary_path) as temporary:
        temporary.write_text(text, encoding="utf-8")
    with atomic_path(html_path) as temporary:
        temporary.write_text(html, encoding="utf-8")

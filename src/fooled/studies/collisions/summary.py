"""The report's data: ``summary.json``, read from the stage artifacts.

The paper reports a single MNIST case (Table 1). A reproduction that means
something shows that case beside the paper's row *and* the same columns over
every experiment that was run, with their spread and worst case. This module
turns the collide/interpolate/polytope/model artifacts (docs/artifacts.md)
into that summary; :mod:`fooled.report` draws the page from it.
It reads HDF5 only through :mod:`fooled.h5io`, so that a missing
file, dataset or attribute fails with one line naming it.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fooled.core.h5io import (
    ArtifactError,
    library_versions,
    read_arrays,
    read_attrs,
    sha256_file,
)
from fooled.studies.collisions import tables_imagenet
from fooled.studies.collisions.paper import PAPER_TABLE1

PathLike = str | os.PathLike[str]

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
    same holds for ``polytope_path`` (micro experiments); without it, or when
    the experiment's layer has no pixel-space polytope, the record's ``exact``
    is ``None``.
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
        polytope_attrs = _require_attrs(polytope_path, ("experiment",))
        polytope_experiment = str(polytope_attrs["experiment"])
        if polytope_experiment != str(collide["experiment"]):
            raise ArtifactError(
                f"{polytope_path}: experiment '{polytope_experiment}' does not match "
                f"'{collide['experiment']}' of {collide_path}"
            )
        if polytope_attrs.get("applicable", True):
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
    return tables_imagenet.annotate(fields)


def is_mnist_micro(record: Mapping[str, Any]) -> bool:
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
        versions = attrs.get("library_versions")
        for library, version in (versions if isinstance(versions, dict) else {}).items():
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
        "aggregate": _aggregate([r for r in experiments if is_mnist_micro(r)]),
        "paper": dict(PAPER_TABLE1),
    }
    if any(r.get("dataset") == "imagenet" for r in experiments):
        summary["paper_imagenet"] = dict(tables_imagenet.PAPER_IMAGENET)
    if stage_seconds is not None:
        summary["stage_seconds"] = {k: float(v) for k, v in stage_seconds.items()}
    return summary


def index_summary(paths: Sequence[PathLike]) -> dict[str, Any]:
    """The patch index's evaluation (rule ``evaluate_index``'s ``summary.json``, if given) as
    ``index``, and the database's ingest record, which it holds, as ``ingest``."""
    summary: dict[str, Any] = {}
    for path in paths:
        index = json.loads(Path(path).read_text())
        if "ingest" in index:  # the database's input, kept in this study's section
            summary["ingest"] = index.pop("ingest")
        summary["index"] = index
    return summary


def summary_json(summary: Mapping[str, Any]) -> str:
    """Strict JSON (NaN refused: it would not parse in most readers)."""
    return json.dumps(summary, indent=2, sort_keys=False, allow_nan=False) + "\n"


def collect_experiments(
    collide_paths: Mapping[str, PathLike],
    interpolate_paths: Mapping[str, PathLike],
    polytope_paths: Mapping[str, PathLike],
    logger: Any,
) -> list[dict[str, Any]]:
    """Every experiment's record, each artifact checked to hold the experiment it is named for."""
    unknown = sorted(set(polytope_paths) - set(collide_paths))
    if unknown:
        raise ValueError(f"polytope inputs for unknown experiments: {', '.join(unknown)}")
    records = []
    for name, collide_path in collide_paths.items():
        record = collect_experiment(collide_path, interpolate_paths[name], polytope_paths.get(name))
        if record["name"] != name:
            raise ArtifactError(
                f"{collide_path}: holds experiment '{record['name']}', expected '{name}'"
            )
        records.append(record)
        logger.info(
            "%s: %d/%d corners converged, interpolation accuracy %.4f",
            name,
            record["corners_converged"],
            record["n_corners"],
            record["interp_top_class_accuracy"],
        )
    return records

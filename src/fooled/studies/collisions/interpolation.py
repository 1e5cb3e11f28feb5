"""The paper's check on the corners: random convex combinations keep the class.

Weights are uniform on the probability simplex (normalised exponential
draws, i.e. Dirichlet(1, ..., 1)), seeded, so every combination is a point
of the corners' convex hull and the whole hull is sampled without bias.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from fooled.core import h5io
from fooled.core.stage import Job
from fooled.models.handle import ModelHandle


def simplex_weights(n_samples: int, n_corners: int, seed: int) -> np.ndarray:
    """``(n_samples, n_corners)`` non-negative float32 rows summing to one."""
    rng = np.random.default_rng(seed)
    draws = rng.exponential(1.0, size=(n_samples, n_corners))
    return (draws / draws.sum(axis=1, keepdims=True)).astype(np.float32)


def mean_pairwise_distance(points: np.ndarray) -> float:
    """Mean L2 distance over all unordered pairs of rows (float64 Gram trick)."""
    flat = np.asarray(points, np.float64).reshape(len(points), -1)
    if len(flat) < 2:
        raise ValueError("need at least two points for a pairwise distance")
    squared = (flat**2).sum(axis=1)
    gram = squared[:, None] + squared[None, :] - 2.0 * flat @ flat.T
    upper = np.triu_indices(len(flat), k=1)
    return float(np.sqrt(np.maximum(gram[upper], 0.0)).mean())


@dataclass
class InterpolationResult:
    weights: np.ndarray
    predicted: np.ndarray
    top_probability: np.ndarray
    target_class_probability: np.ndarray
    top_class_accuracy: float
    prob_mean: float

    def arrays(self) -> dict[str, np.ndarray]:
        """The per-sample datasets of an interpolate artifact (docs/artifacts.md)."""
        return {
            "weights": self.weights,
            "predicted": self.predicted,
            "top_probability": self.top_probability,
            "target_class_probability": self.target_class_probability,
        }

    def attrs(
        self,
        experiment: str,
        collide_attrs: Mapping[str, Any],
        corners: np.ndarray,
        dataset_images: np.ndarray,
        seed: int,
        seconds: float,
    ) -> dict[str, Any]:
        """The summary attributes of an interpolate artifact: Table 1's figures for one experiment.

        The corners' mean pairwise distance is set beside that of real dataset
        images (same pixel scale), the paper's measure of how large the polytope is.
        """
        return {
            "experiment": experiment,
            "target_class": int(collide_attrs["target_predicted_class"]),
            "target_prob": float(collide_attrs["target_probability"]),
            "interp_top_class_accuracy": self.top_class_accuracy,
            "interp_prob_mean": self.prob_mean,
            "dist_corners_mean": mean_pairwise_distance(corners),
            "dist_dataset_mean": mean_pairwise_distance(dataset_images),
            "n_dataset_images": len(dataset_images),
            "n_samples": len(self.weights),
            "seed": seed,
            "seconds": seconds,
        }


def describe(attrs: Mapping[str, Any]) -> str:
    """One log line from :meth:`InterpolationResult.attrs`."""
    return (
        f"{attrs['experiment']}: {attrs['n_samples']} interpolations, top-class accuracy "
        f"{attrs['interp_top_class_accuracy']:.4f}, mean prob {attrs['interp_prob_mean']:.4f} "
        f"(target {attrs['target_prob']:.4f}), distances corners "
        f"{attrs['dist_corners_mean']:.3f} / dataset {attrs['dist_dataset_mean']:.3f} "
        f"({attrs['n_dataset_images']} images)"
    )


def check_interpolations(
    corners: np.ndarray,
    target_class: int,
    probabilities: Callable[[np.ndarray], np.ndarray],
    n_samples: int,
    seed: int,
) -> InterpolationResult:
    """Classify ``n_samples`` convex combinations of ``corners``.

    ``probabilities`` maps a float32 batch shaped like ``corners`` (flattened
    rows) to class probabilities; accuracy is against ``target_class``, the
    target's *predicted* class, since a collision preserves the prediction,
    right or wrong.
    """
    flat = np.asarray(corners, np.float32).reshape(len(corners), -1)
    weights = simplex_weights(n_samples, len(flat), seed)
    mixtures = weights @ flat
    probs = np.asarray(probabilities(mixtures))
    predicted = probs.argmax(axis=1).astype(np.int64)
    top_probability = probs.max(axis=1).astype(np.float32)
    return InterpolationResult(
        weights=weights,
        predicted=predicted,
        top_probability=top_probability,
        target_class_probability=probs[:, target_class].astype(np.float32),
        top_class_accuracy=float((predicted == target_class).mean()),
        prob_mean=float(top_probability.mean()),
    )


def write(
    job: Job,
    settings: Mapping[str, Any],
    corners: np.ndarray,
    collide_attrs: Mapping[str, Any],
    model: ModelHandle,
    dataset_images: Callable[[np.random.Generator], np.ndarray],
    provenance: Mapping[str, str],
    logger: logging.Logger,
) -> None:
    """An experiment's interpolate artifact (``job.output.interpolate``; MNIST and ImageNet).

    ``dataset_images(rng)`` draws the real images whose distances the corners'
    are set beside, from a generator seeded with the interpolations' seed.
    """
    started = time.perf_counter()
    result = check_interpolations(
        corners,
        int(collide_attrs["target_predicted_class"]),
        lambda rows: model.probabilities_numpy(rows, settings["batch_size"]),
        n_samples=settings["n_samples"],
        seed=settings["seed"],
    )
    seconds = time.perf_counter() - started
    images = dataset_images(np.random.default_rng(settings["seed"]))
    experiment = job.wildcards.experiment
    attrs = result.attrs(experiment, collide_attrs, corners, images, settings["seed"], seconds)
    logger.info("%s", describe(attrs))
    h5io.write_artifact(job.output.interpolate, result.arrays(), provenance, attrs)

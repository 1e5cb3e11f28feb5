"""One evolution run and one ascent batch of the study: attacks from the config, their artifacts.

The artifact layouts are defined here once (``evolve_datasets``,
``ascend_datasets``) for the stages, the retraining rounds and the report.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from fooled.attacks.ascent import AscentResult, AscentSettings, GradientAscent
from fooled.attacks.encodings import make_encoding
from fooled.attacks.evolution import EvolutionResult, EvolutionSettings, MapElites
from fooled.studies.fooling.targets import Target


def evolution_attack(settings: Mapping[str, Any], target: Target) -> MapElites:
    """MAP-Elites for ``target``'s images, with the experiment's encoding and settings."""
    name = settings["encoding"]
    encoding = make_encoding(name, settings[name], target.image_shape)
    return MapElites(
        EvolutionSettings.from_config(settings), encoding, low=target.low, high=target.high
    )


def run_seed(settings: Mapping[str, Any], run: int) -> int:
    """Run ``r`` of an experiment uses ``seed + r``."""
    return int(settings["seed"]) + int(run)


def evolve_datasets(result: EvolutionResult) -> dict[str, np.ndarray]:
    """The datasets of an evolve artifact (docs/studies/fooling.md, "Artifacts")."""
    datasets = {
        "classes": result.classes.astype(np.int64),
        "elites": result.elites.astype(np.float32),
        "elite_confidence": result.elite_confidence.astype(np.float32),
        "elite_fitness": result.elite_fitness.astype(np.float32),
        "elite_predicted": result.elite_predicted.astype(np.int64),
        "confidence_history": result.confidence_history.astype(np.float32),
        "elite_snapshots": result.elite_snapshots.astype(np.float32),
        "snapshot_generations": result.snapshot_generations.astype(np.int64),
        "threshold_generation": result.threshold_generation.astype(np.int64),
        "thresholds": np.asarray(result.thresholds, np.float64),
    }
    for key, values in result.elite_genomes.items():
        datasets[f"genome/{key}"] = np.asarray(values)
    return datasets


def ascent_attack(settings: Mapping[str, Any], target: Target) -> GradientAscent:
    centre = target.centre[0] if len(target.centre) == 1 else target.centre
    return GradientAscent(
        AscentSettings.from_config(settings), low=target.low, high=target.high, centre=centre
    )


def ascend_datasets(result: AscentResult, start_class: np.ndarray) -> dict[str, np.ndarray]:
    """The datasets of an ascend artifact; ``start_class`` is -1 for a noise start."""
    return {
        "images": result.images.astype(np.float32),
        "start_images": result.start_images.astype(np.float32),
        "start_class": np.asarray(start_class, np.int64),
        "target_classes": result.target_classes.astype(np.int64),
        "confidence_history": result.confidence_history.astype(np.float32),
        "threshold_step": result.threshold_step.astype(np.int64),
        "threshold_images": result.threshold_images.astype(np.float32),
        "thresholds": np.asarray(result.thresholds, np.float64),
        "final_confidence": result.final_confidence.astype(np.float32),
        "predicted": result.predicted.astype(np.int64),
    }


def target_classes(settings: Mapping[str, Any], target: Target) -> np.ndarray:
    """The experiment's classes, or every class of an MNIST model (all 1,000 of ImageNet)."""
    classes = settings.get("classes")
    if classes is None:
        n_digits = min(10, target.n_classes) if target.dataset == "mnist" else target.n_classes
        return np.arange(n_digits, dtype=np.int64)
    classes = np.asarray(classes, np.int64)
    if classes.min() < 0 or classes.max() >= target.n_classes:
        raise ValueError(f"classes {classes.tolist()} outside the model's {target.n_classes}")
    return classes


def noise_starts(
    classes: np.ndarray, per_class: int, target: Target, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Uniform-noise start images and their target classes, ``per_class`` for each class."""
    rng = np.random.default_rng(seed)
    targets = np.repeat(classes, per_class)
    images = rng.uniform(target.low, target.high, size=(len(targets), *target.image_shape))
    return images.astype(np.float32), targets


def image_starts(
    classes: np.ndarray,
    per_class: int,
    target: Target,
    test_images: np.ndarray,
    test_labels: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each target class c, the first ``per_class`` test images of class (c + 1) mod 10
    that the model classifies correctly (the slides' "elephant to tiger shark").

    Returns ``(images, targets, start_classes)``.
    """
    pixels = np.asarray(test_images, np.float32) / 255.0
    labels = np.asarray(test_labels, np.int64)
    images, targets, sources = [], [], []
    chosen: dict[int, np.ndarray] = {}
    for target_class in classes:
        source = int((target_class + 1) % 10)
        if source not in chosen:
            candidates = np.flatnonzero(labels == source)[: max(200, 20 * per_class)]
            predicted = target.handle.probabilities_numpy(pixels[candidates]).argmax(axis=1)
            correct = candidates[predicted == source][:per_class]
            if len(correct) < per_class:
                raise ValueError(
                    f"only {len(correct)} of the first {len(candidates)} test images of class "
                    f"{source} are classified correctly; {per_class} are needed"
                )
            chosen[source] = correct
        for index in chosen[source]:
            images.append(pixels[index])
            targets.append(int(target_class))
            sources.append(source)
    stacked = (
        np.stack(images).astype(np.float32)
        if images
        else np.zeros((0, *target.image_shape), np.float32)
    )
    return stacked, np.asarray(targets, np.int64), np.asarray(sources, np.int64)

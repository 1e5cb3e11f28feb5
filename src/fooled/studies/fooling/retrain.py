"""The paper's follow-up: retrain with the fooling images as an extra class, then evolve again.

Nguyen et al. asked whether a network that has seen fooling images as a class
of their own ("fooling", the 11th output) is still fooled. Round 0 evolves
fooling images against the given network; each later round trains a fresh
network of the same architecture (LeNet or the MLP, 11 outputs) on MNIST
digits plus every fooling image found so far (labelled 10, repeated up to
``fooling_class_size`` training images so the class is not swamped), then
evolves against it again, with the same fitness: the probability of each
digit. The paper's finding: retraining did not stop new fooling images from
being evolved. Recorded per round: the network's test accuracy on MNIST, how
many of the earlier fooling images it now puts in the fooling class, and the
evolution records of every run (confidence per generation, the generations
to each threshold, the elites).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import keras
import numpy as np

from fooled.attacks.evolution import EvolutionResult
from fooled.data.mnist import to_pixels
from fooled.models.handle import ModelHandle
from fooled.models.lenet import fit_classifier, lenet
from fooled.models.mlp import mnist_mlp
from fooled.models.runtime import make_deterministic
from fooled.studies.fooling.runs import evolution_attack
from fooled.studies.fooling.targets import Target

FOOLING_CLASS = 10
ARCHITECTURES = ("lenet", "mlp")
LOGGER = logging.getLogger(__name__)


def classifier(architecture: str, n_classes: int) -> keras.Model:
    """A fresh network of the attacked model's architecture with ``n_classes`` outputs."""
    if architecture == "lenet":
        return lenet(n_classes=n_classes)
    if architecture == "mlp":
        return mnist_mlp(n_classes=n_classes)
    raise ValueError(
        f"retraining needs architecture {' or '.join(ARCHITECTURES)}, not '{architecture}'"
    )


def with_fooling_class(
    digits: np.ndarray, labels: np.ndarray, fooling: np.ndarray, class_size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Digits (flat rows) plus ``class_size`` fooling rows (the images repeated), labelled 10."""
    fooling = np.asarray(fooling, np.float32).reshape(len(fooling), -1)
    if len(fooling) == 0:
        return digits, labels
    repeated = np.tile(fooling, (math.ceil(class_size / len(fooling)), 1))[:class_size]
    x = np.concatenate([digits, repeated]).astype(np.float32)
    y = np.concatenate([labels, np.full(len(repeated), FOOLING_CLASS, np.int64)])
    return x, y


@dataclass
class RetrainRound:
    round: int
    test_accuracy: float
    fooling_train_images: int  # distinct fooling images in this round's training set
    fooling_recognised: float  # earlier fooling images now put in the fooling class (NaN round 0)
    runs: list[EvolutionResult]


@dataclass
class RetrainResult:
    rounds: list[RetrainRound]
    seconds: float

    def datasets(self) -> dict[str, np.ndarray]:
        """The retrain artifact's datasets (docs/studies/fooling.md, "Artifacts")."""
        rounds = self.rounds
        return {
            "test_accuracy": np.array([r.test_accuracy for r in rounds], np.float64),
            "fooling_train_images": np.array([r.fooling_train_images for r in rounds], np.int64),
            "fooling_recognised": np.array([r.fooling_recognised for r in rounds], np.float64),
            "elite_confidence": np.stack(
                [np.stack([run.elite_confidence for run in r.runs]) for r in rounds]
            ).astype(np.float32),
            "threshold_generation": np.stack(
                [np.stack([run.threshold_generation for run in r.runs]) for r in rounds]
            ).astype(np.int64),
            "confidence_history": np.stack(
                [np.stack([run.confidence_history for run in r.runs]) for r in rounds]
            ).astype(np.float32),
            "elites": np.stack([np.stack([run.elites for run in r.runs]) for r in rounds]).astype(
                np.float32
            ),
            "thresholds": np.asarray(rounds[0].runs[0].thresholds, np.float64),
        }


def retrain_rounds(
    target: Target,
    architecture: str,
    mnist: Mapping[str, np.ndarray],
    settings: Mapping[str, Any],
    evolve_defaults: Mapping[str, Any],
    logger: logging.Logger = LOGGER,
) -> RetrainResult:
    """Round 0 on ``target``, then ``settings['rounds']`` retrain-and-evolve rounds.

    ``mnist`` holds ``train/images``, ``train/labels``, ``test/images`` and
    ``test/labels`` (uint8 as in the MNIST artifact). The evolution uses the
    encoding settings and thresholds of ``evolve_defaults`` with the
    experiment's encoding, population, generations and seeds; run ``k`` of
    round ``r`` is seeded ``seed + 1000 r + k`` and round ``r``'s network
    ``seed + r``.
    """
    if architecture not in ARCHITECTURES:
        raise ValueError(
            f"retraining needs architecture {' or '.join(ARCHITECTURES)}, not '{architecture}'"
        )
    started = time.perf_counter()
    seed = int(settings["seed"])
    evolve_settings = {
        **evolve_defaults,
        "encoding": settings["encoding"],
        "population_size": settings["population_size"],
        "generations": settings["generations"],
        "checkpoint_every": 0,
        "snapshot_every": 0,
        "penalty_weight": 0.0,
    }
    x_test = to_pixels(mnist["test/images"])
    y_test = np.asarray(mnist["test/labels"], np.int64)
    x_train = to_pixels(mnist["train/images"])
    y_train = np.asarray(mnist["train/labels"], np.int64)
    if settings["train_samples"] is not None:
        x_train, y_train = (
            x_train[: settings["train_samples"]],
            y_train[: settings["train_samples"]],
        )
    digits = np.arange(10)
    fooling: list[np.ndarray] = []
    rounds: list[RetrainRound] = []
    handle = target.handle
    for round_index in range(int(settings["rounds"]) + 1):
        if round_index == 0:
            predicted = handle.probabilities_numpy(x_test).argmax(axis=1)
            accuracy, recognised, n_fooling = float((predicted == y_test).mean()), float("nan"), 0
        else:
            earlier = np.concatenate(fooling)
            make_deterministic(seed + round_index)
            model = classifier(architecture, 11)
            x, y = with_fooling_class(x_train, y_train, earlier, settings["fooling_class_size"])
            trained = fit_classifier(
                model,
                x,
                y,
                x_test,
                y_test,
                seed=seed + round_index,
                epochs=settings["epochs"],
                batch_size=settings["batch_size"],
                learning_rate=settings["learning_rate"],
                verbose=0,
            )
            handle = ModelHandle(trained.model)
            accuracy = trained.test_accuracy
            fooled_as = handle.probabilities_numpy(earlier).argmax(axis=1)
            recognised = float((fooled_as == FOOLING_CLASS).mean())
            n_fooling = len(earlier)
            logger.info(
                "round %d: retrained on %d fooling images, test accuracy %.4f, "
                "%.1f%% of them recognised as fooling",
                round_index,
                n_fooling,
                accuracy,
                100 * recognised,
            )
        attack = evolution_attack(evolve_settings, replace(target, handle=handle))
        runs = [
            attack.run(handle, seed + 1000 * round_index + run, digits)
            for run in range(int(settings["runs_per_round"]))
        ]
        at_top = np.mean([(run.threshold_generation[-1] >= 0).mean() for run in runs])
        logger.info(
            "round %d: evolution put %.0f%% of the digits at >= %.2f%%",
            round_index,
            100 * at_top,
            100 * runs[0].thresholds[-1],
        )
        fooling.append(np.concatenate([run.elites for run in runs]))
        rounds.append(RetrainRound(round_index, accuracy, n_fooling, recognised, runs))
    return RetrainResult(rounds, time.perf_counter() - started)

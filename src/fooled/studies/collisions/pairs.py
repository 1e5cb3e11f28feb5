"""The MNIST seed and target of a collision experiment: the k-th correct image of a class."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from fooled.core import h5io
from fooled.data.mnist import to_pixels


def pick_correct_example(
    labels: np.ndarray, predicted: np.ndarray, class_id: int, index: int
) -> int:
    """Test-set position of the ``index``-th image of ``class_id`` the model gets right.

    The paper's pair is "the first correctly classified 3 and 7"; choosing
    among correct images keeps low-margin, misclassified targets out unless
    an experiment asks for them by position.
    """
    candidates = np.flatnonzero(
        (np.asarray(labels) == class_id) & (np.asarray(predicted) == class_id)
    )
    if index >= candidates.size:
        raise ValueError(
            f"class {class_id} has {candidates.size} correctly classified test images; "
            f"index {index} is out of range"
        )
    return int(candidates[index])


def pick_seed_and_target(
    experiment: dict, labels: np.ndarray, predicted: np.ndarray
) -> tuple[int, int]:
    """Test-set positions of an experiment's ``seed`` and ``target`` (``class``, ``index``)."""
    return tuple(
        pick_correct_example(
            labels, predicted, experiment[role]["class"], experiment[role]["index"]
        )
        for role in ("seed", "target")
    )


@dataclass(frozen=True)
class SeedAndTarget:
    """An MNIST experiment's seed and target: test-set positions and flat pixel rows in [0, 1]."""

    seed_index: int
    target_index: int
    seed_image: np.ndarray  # uint8 (28, 28) as stored; the macro level checks its sources by it
    seed_pixels: np.ndarray  # float32 (784,)
    target_pixels: np.ndarray  # float32 (784,)

    def attrs(self, experiment: dict, target_probabilities: np.ndarray) -> dict[str, Any]:
        """The pair's attributes in a collide artifact, with the model's verdict on the target."""
        return {
            "seed_class": experiment["seed"]["class"],
            "seed_index": self.seed_index,
            "target_class": experiment["target"]["class"],
            "target_index": self.target_index,
            "target_predicted_class": int(np.argmax(target_probabilities)),
            "target_probability": float(np.max(target_probabilities)),
        }


def read_seed_and_target(
    mnist_path: str | os.PathLike[str], metrics_path: str | os.PathLike[str], experiment: dict
) -> SeedAndTarget:
    """Read the test set and the model's predictions, and pick the experiment's pair from them."""
    mnist = h5io.read_arrays(mnist_path, ["test/images", "test/labels"])
    predicted = h5io.read_arrays(metrics_path, ["test/predicted"])["test/predicted"]
    seed_index, target_index = pick_seed_and_target(experiment, mnist["test/labels"], predicted)
    seed_pixels, target_pixels = to_pixels(mnist["test/images"][[seed_index, target_index]])
    return SeedAndTarget(
        seed_index=seed_index,
        target_index=target_index,
        seed_image=mnist["test/images"][seed_index],
        seed_pixels=seed_pixels,
        target_pixels=target_pixels,
    )

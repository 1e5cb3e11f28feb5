"""What every MNIST trainer takes and returns: ``train(settings, mnist, ...) -> result``.

``settings`` is a frozen dataclass built from the model's config section
(``from_config``; every default is in the model's schema), ``mnist`` the
MNIST artifact's arrays (:func:`fooled.data.mnist.read_mnist`: ``train/images``,
``train/labels``, ``test/images``, ``test/labels``, uint8 images). The
trainers: :func:`fooled.models.mlp.train_mnist_mlp` (rule ``train_mlp``),
:func:`fooled.models.lenet.train_mnist_lenet` (rule ``train_lenet``) and
:func:`fooled.models.mnist_zoo.train_model` (the Szegedy study's models).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np

from fooled.core.settings import config_fields
from fooled.data.mnist import to_pixels

# The MNIST artifact's arrays, by dataset name.
Mnist = Mapping[str, np.ndarray]


@dataclass(frozen=True)
class MnistTraining:
    """How a network is trained on MNIST (config keys of the same names; no defaults here)."""

    seed: int
    epochs: int
    batch_size: int
    learning_rate: float
    max_train_samples: int | None

    @classmethod
    def from_config(cls, settings: Mapping[str, Any]) -> MnistTraining:
        """The settings of a model's config section (keys named as the fields; others ignored)."""
        return cls(**config_fields(cls, settings, "training"))


@dataclass(frozen=True)
class MlpTraining(MnistTraining):
    """The MLP's training, and its hidden layers' sizes (``models.mlp``)."""

    hidden_units: tuple[int, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden_units", tuple(int(u) for u in self.hidden_units))


def training_rows(mnist: Mnist, max_samples: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Training pixels (flat rows in [0, 1]) and int64 labels, the first ``max_samples`` if set."""
    x, y = to_pixels(mnist["train/images"]), np.asarray(mnist["train/labels"], np.int64)
    if max_samples is not None:
        x, y = x[:max_samples], y[:max_samples]
    return x, y


@dataclass
class TrainingResult:
    """A trained MNIST classifier and the record every training stage writes."""

    model: keras.Model
    history: dict[str, np.ndarray]
    test_loss: float
    test_accuracy: float
    test_predicted: np.ndarray
    test_top_probability: np.ndarray
    seconds: float

    @classmethod
    def evaluate(
        cls,
        model: keras.Model,
        history: dict[str, list[float]],
        x_test: np.ndarray,
        y_test: np.ndarray,
        seconds: float,
        test_loss: float,
    ) -> TrainingResult:
        """A trained model's test predictions, the record every training stage writes."""
        probabilities = model.predict(x_test, batch_size=1024, verbose=0)
        predicted = probabilities.argmax(axis=1)
        return cls(
            model=model,
            history={key: np.asarray(values, dtype=np.float64) for key, values in history.items()},
            test_loss=float(test_loss),
            test_accuracy=float((predicted == y_test).mean()) if len(y_test) else float("nan"),
            test_predicted=predicted.astype(np.uint8),
            test_top_probability=probabilities.max(axis=1).astype(np.float32),
            seconds=seconds,
        )

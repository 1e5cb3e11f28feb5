"""The project's MNIST network (the paper's 784-256-256-10 ReLU MLP), trained reproducibly.

Collisions are defined on a ReLU layer's *pre*-activations, so the model
keeps each hidden layer as a linear ``Dense`` (named ``fc1``, ``fc2``)
followed by a separate ``ReLU`` layer: the Dense layer's output is ``f0``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import keras
import numpy as np

from fooled.data.mnist import to_pixels
from fooled.models.runtime import TrainingProgress, make_deterministic

LOGGER = logging.getLogger(__name__)


def mnist_mlp(hidden_units: tuple[int, ...], n_classes: int = 10) -> keras.Model:
    """The paper's MNIST network: 784-256-256-10 with ReLU, logits then softmax."""
    inputs = keras.Input(shape=(784,), name="pixels")
    hidden = inputs
    for depth, units in enumerate(hidden_units, start=1):
        hidden = keras.layers.Dense(units, name=f"fc{depth}")(hidden)
        hidden = keras.layers.ReLU(name=f"fc{depth}_relu")(hidden)
    logits = keras.layers.Dense(n_classes, name="logits")(hidden)
    probabilities = keras.layers.Softmax(name="probabilities")(logits)
    return keras.Model(inputs, probabilities, name="mnist_mlp")


@dataclass
class TrainingResult:
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


def train_mnist_mlp(
    train_images: np.ndarray,
    train_labels: np.ndarray,
    test_images: np.ndarray,
    test_labels: np.ndarray,
    *,
    seed: int,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    hidden_units: tuple[int, ...],
    max_train_samples: int | None,
    logger: logging.Logger = LOGGER,
) -> TrainingResult:
    """Train the MLP with Adam; the test set doubles as validation, as in the paper's report."""
    make_deterministic(seed)
    x_train, y_train = to_pixels(train_images), np.asarray(train_labels, dtype=np.int64)
    if max_train_samples is not None:
        x_train, y_train = x_train[:max_train_samples], y_train[:max_train_samples]
    x_test, y_test = to_pixels(test_images), np.asarray(test_labels, dtype=np.int64)

    model = mnist_mlp(tuple(hidden_units))
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=["accuracy"],
    )
    started = time.perf_counter()
    fit = model.fit(
        x_train,
        y_train,
        batch_size=batch_size,
        epochs=epochs,
        validation_data=(x_test, y_test),
        shuffle=True,
        verbose=0,
        callbacks=[TrainingProgress(epochs, logger)],
    )
    seconds = time.perf_counter() - started
    test_loss, _ = model.evaluate(x_test, y_test, batch_size=1024, verbose=0)
    return TrainingResult.evaluate(model, fit.history, x_test, y_test, seconds, test_loss)

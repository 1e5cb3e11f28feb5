"""The project's MNIST network (the paper's 784-256-256-10 ReLU MLP), trained reproducibly.

Collisions are defined on a ReLU layer's *pre*-activations, so the model
keeps each hidden layer as a linear ``Dense`` (named ``fc1``, ``fc2``)
followed by a separate ``ReLU`` layer: the Dense layer's output is ``f0``.
"""

from __future__ import annotations

import logging
import time

import keras
import numpy as np

from fooled.data.mnist import to_pixels
from fooled.models.runtime import TrainingProgress, make_deterministic
from fooled.models.training import MlpTraining, Mnist, TrainingResult, training_rows

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


def train_mnist_mlp(
    settings: MlpTraining, mnist: Mnist, logger: logging.Logger = LOGGER
) -> TrainingResult:
    """Train the MLP with Adam; the test set doubles as validation, as in the paper's report."""
    make_deterministic(settings.seed)
    x_train, y_train = training_rows(mnist, settings.max_train_samples)
    x_test = to_pixels(mnist["test/images"])
    y_test = np.asarray(mnist["test/labels"], dtype=np.int64)

    model = mnist_mlp(settings.hidden_units)
    model.compile(
        optimizer=keras.optimizers.Adam(settings.learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=["accuracy"],
    )
    started = time.perf_counter()
    fit = model.fit(
        x_train,
        y_train,
        batch_size=settings.batch_size,
        epochs=settings.epochs,
        validation_data=(x_test, y_test),
        shuffle=True,
        verbose=0,
        callbacks=[TrainingProgress(settings.epochs, logger)],
    )
    seconds = time.perf_counter() - started
    test_loss, _ = model.evaluate(x_test, y_test, batch_size=1024, verbose=0)
    return TrainingResult.evaluate(model, fit.history, x_test, y_test, seconds, test_loss)

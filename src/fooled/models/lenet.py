"""The fooling-images paper's MNIST network: Caffe's LeNet-5 variant, trained reproducibly.

Nguyen, Yosinski and Clune attack "the well-known LeNet model" from Caffe's
MNIST example: conv 20@5x5 -> max-pool 2 -> conv 50@5x5 -> max-pool 2 ->
dense 500 + ReLU -> dense 10 -> softmax, with no non-linearity after the
convolutions (as in Caffe's ``lenet_train_test.prototxt``). It is built here
in Keras with the project's input convention: flat ``(n, 784)`` rows of
pixels in ``[0, 1]`` (the MLP's), reshaped to ``28x28x1`` by the model's
first layer, so every MNIST model the project has is driven the same way by
:class:`fooled.models.handle.ModelHandle` (which reshapes any batch to the
model's input) and by the same attacks. The last layer is a ``Softmax``, so
the handle finds the logits before it.

``n_classes`` is 11 for the paper's retraining follow-up (the ten digits and
a "fooling images" class).
"""

from __future__ import annotations

import time

import keras
import numpy as np

from fooled.data.mnist import to_pixels
from fooled.models.runtime import make_deterministic
from fooled.models.training import Mnist, MnistTraining, TrainingResult, training_rows

IMAGE_SHAPE = (28, 28)
N_PIXELS = 784


def lenet(
    n_classes: int = 10,
    conv_filters: tuple[int, int] = (20, 50),
    dense_units: int = 500,
    name: str = "mnist_lenet",
) -> keras.Model:
    """Caffe's MNIST LeNet on flat ``(n, 784)`` pixels in ``[0, 1]``, logits then softmax."""
    inputs = keras.Input(shape=(N_PIXELS,), name="pixels")
    hidden = keras.layers.Reshape((*IMAGE_SHAPE, 1), name="image")(inputs)
    hidden = keras.layers.Conv2D(conv_filters[0], 5, name="conv1")(hidden)
    hidden = keras.layers.MaxPooling2D(2, name="pool1")(hidden)
    hidden = keras.layers.Conv2D(conv_filters[1], 5, name="conv2")(hidden)
    hidden = keras.layers.MaxPooling2D(2, name="pool2")(hidden)
    hidden = keras.layers.Flatten(name="flatten")(hidden)
    hidden = keras.layers.Dense(dense_units, name="fc1")(hidden)
    hidden = keras.layers.ReLU(name="fc1_relu")(hidden)
    logits = keras.layers.Dense(n_classes, name="logits")(hidden)
    probabilities = keras.layers.Softmax(name="probabilities")(logits)
    return keras.Model(inputs, probabilities, name=name)


def fit_classifier(
    model: keras.Model,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    *,
    seed: int,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    verbose: int = 2,
) -> TrainingResult:
    """Train ``model`` (softmax output) with Adam, seeded; evaluate on the test rows.

    The caller seeds the weights' initialisation (``make_deterministic`` before
    building the model); the shuffling order is seeded here as well.
    """
    make_deterministic(seed)
    steps = epochs * -(-len(x_train) // batch_size)
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=max(1, steps))
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=["accuracy"],
    )
    started = time.perf_counter()
    fit = model.fit(
        np.asarray(x_train, np.float32),
        np.asarray(y_train, np.int64),
        batch_size=batch_size,
        epochs=epochs,
        shuffle=True,
        verbose=verbose,
    )
    seconds = time.perf_counter() - started
    x_test = np.asarray(x_test, np.float32)
    y_test = np.asarray(y_test, np.int64)
    probabilities = model.predict(x_test, batch_size=1024, verbose=0)
    picked = probabilities[np.arange(len(y_test)), y_test]
    test_loss = float(-np.log(np.maximum(picked, 1e-12)).mean()) if len(y_test) else float("nan")
    return TrainingResult.evaluate(model, fit.history, x_test, y_test, seconds, test_loss)


def train_mnist_lenet(settings: MnistTraining, mnist: Mnist, verbose: int = 0) -> TrainingResult:
    """LeNet on MNIST (the artifact's uint8 images), the first ``max_train_samples`` if set.

    Same seed, same bytes: weights are initialised and batches shuffled from
    the seed with TensorFlow's deterministic kernels.
    """
    make_deterministic(settings.seed)
    x_train, y_train = training_rows(mnist, settings.max_train_samples)
    model = lenet()
    return fit_classifier(
        model,
        x_train,
        y_train,
        to_pixels(mnist["test/images"]),
        mnist["test/labels"],
        seed=settings.seed,
        epochs=settings.epochs,
        batch_size=settings.batch_size,
        learning_rate=settings.learning_rate,
        verbose=verbose,
    )

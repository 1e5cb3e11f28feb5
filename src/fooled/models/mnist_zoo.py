"""The MNIST models of Szegedy et al. (2014), built by architecture name and trained seeded.

Architectures (every model takes flat ``(n, 784)`` pixels in [0, 1] and ends in
a ``Softmax`` layer named ``probabilities`` after a linear ``logits`` Dense, so
:class:`fooled.models.handle.ModelHandle` finds the logits):

- ``fc10``: a softmax on the pixels (the paper's FC10(lambda)).
- ``fcA-B-...-10``: sigmoid hidden layers ``fc1``, ``fc2``, ... of the sizes
  named (the paper's FC100-100-10, FC200-200-10, FC123-456-10).
- ``ae400-10``: the 400 sigmoid features (layer ``fc1``) of an autoencoder
  784-400-784 trained first on the training images, then a softmax trained on
  top with the features frozen (the paper's AE400-10).
- ``relu256-256-10``: the project's ReLU MLP (:func:`fooled.models.mlp.mnist_mlp`:
  linear ``fc1``, ``fc2`` each followed by a ``ReLU`` layer).

Weight decay ``lambda`` is meant as the word says: each step shrinks a
kernel by ``lambda * W`` besides the loss gradient, i.e. the penalty
``lambda / 2 * sum(W**2)`` added to the mean cross-entropy (a Keras
``L2(lambda / 2)`` kernel regulariser on each Dense layer). With it FC10
reaches the paper's errors at 1e-4 (7.4% / 7.6% test against 6.7% / 7.4%)
and 1e-2 (10.0% / 9.5% against 10% / 9.4%); with ``L2(lambda)`` 1e-2 gave
10.9% / 10.3%. At 1 it over-regularises either way (26.7% test; paper 21.2%
train, 20% test). The regulariser is written into the model file's config, so
a loaded model says which decay it was trained with and
:func:`check_model_matches` can refuse a file that does not match its config.

Training sets: ``all`` (60,000), or the halves ``P1``/``P2`` of one seeded
permutation of the training set (30,000 each), the paper's Tables 3-4.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np

from fooled.core.settings import config_fields
from fooled.models.architectures import (  # noqa: F401 (re-exported: the zoo's names)
    N_CLASSES,
    Architecture,
    decay_per_layer,
    parse_architecture,
)
from fooled.models.mlp import mnist_mlp
from fooled.models.runtime import make_deterministic
from fooled.models.training import Mnist

N_PIXELS = 784
TRAINING_SETS = ("all", "P1", "P2")
# One forward pass over this many rows when measuring errors (small MLPs, CPU).
EVAL_BATCH = 4096


def _plain_model(architecture: Architecture) -> keras.Model:
    if architecture.kind == "relu":
        return mnist_mlp(architecture.hidden, N_CLASSES)
    inputs = keras.Input(shape=(N_PIXELS,), name="pixels")
    hidden = inputs
    for depth, units in enumerate(architecture.hidden, start=1):
        hidden = keras.layers.Dense(units, activation="sigmoid", name=f"fc{depth}")(hidden)
    logits = keras.layers.Dense(N_CLASSES, name="logits")(hidden)
    probabilities = keras.layers.Softmax(name="probabilities")(logits)
    return keras.Model(inputs, probabilities, name=architecture.name.replace("-", "_"))


def with_weight_decay(model: keras.Model, decays: Sequence[float]) -> keras.Model:
    """A copy of ``model`` whose Dense kernels decay by ``decays`` in order (``L2(decay / 2)``).

    Rebuilding from the config (rather than setting attributes on built
    layers) stores the decay in the saved model, where a later stage can read it.
    """
    config = model.get_config()
    dense = [layer for layer in config["layers"] if layer["class_name"] == "Dense"]
    if len(dense) != len(decays):
        raise ValueError(f"model has {len(dense)} Dense layers, {len(decays)} decays given")
    for layer, decay in zip(dense, decays, strict=True):
        layer["config"]["kernel_regularizer"] = (
            keras.saving.serialize_keras_object(keras.regularizers.L2(decay / 2.0))
            if decay
            else None
        )
    return keras.Model.from_config(config)


def build_model(architecture: str, weight_decay: float | Sequence[float]) -> keras.Model:
    """An untrained model of the named architecture with its per-layer weight decay."""
    parsed = parse_architecture(architecture)
    return with_weight_decay(_plain_model(parsed), decay_per_layer(parsed, weight_decay))


def model_decays(model: keras.Model) -> list[float]:
    """The weight decay of each Dense kernel of a (loaded) model (twice its L2 coefficient)."""
    decays = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense):
            regularizer = layer.kernel_regularizer
            decays.append(2.0 * float(getattr(regularizer, "l2", 0.0)) if regularizer else 0.0)
    return decays


def check_model_matches(
    model: keras.Model, architecture: str, weight_decay: float | Sequence[float], where: str
) -> None:
    """One line naming ``where`` when a loaded model is not the configured architecture/decay."""
    expected = build_model(architecture, weight_decay)
    want = [tuple(weight.shape) for weight in expected.weights]
    have = [tuple(weight.shape) for weight in model.weights]
    if want != have:
        raise ValueError(
            f"{where}: model does not match its config (architecture {architecture} has weight "
            f"shapes {want}, the file has {have}); rerun the rule that trains it"
        )
    want_decay, have_decay = model_decays(expected), model_decays(model)
    if not np.allclose(want_decay, have_decay, rtol=1e-6, atol=0.0):
        raise ValueError(
            f"{where}: model does not match its config (weight decay {want_decay} configured, "
            f"{have_decay} in the file); rerun the rule that trains it"
        )


# ----------------------------------------------------------------------------- data


def split_halves(n_train: int, seed: int) -> dict[str, np.ndarray]:
    """Training indices: ``all`` in file order, ``P1``/``P2`` halves of a seeded permutation."""
    permutation = np.random.default_rng(seed).permutation(n_train)
    half = n_train // 2
    return {
        "all": np.arange(n_train),
        "P1": np.sort(permutation[:half]),
        "P2": np.sort(permutation[half : 2 * half]),
    }


def training_indices(
    training_set: str, n_train: int, split_seed: int, max_samples: int | None
) -> np.ndarray:
    """The indices a model trains on: its set, cut to the first ``max_samples`` when given."""
    if training_set not in TRAINING_SETS:
        raise ValueError(f"training set '{training_set}' not one of {', '.join(TRAINING_SETS)}")
    indices = split_halves(n_train, split_seed)[training_set]
    return indices if max_samples is None else indices[:max_samples]


def pixels(images: np.ndarray) -> np.ndarray:
    """uint8 (n, 28, 28) or float images to float32 rows (n, 784) in [0, 1]."""
    images = np.asarray(images)
    rows = images.reshape(len(images), -1).astype(np.float32)
    return rows / 255.0 if images.dtype == np.uint8 else rows


def predict_classes(model: keras.Model, x: np.ndarray) -> np.ndarray:
    """Argmax class of every row, in batches (a graph call, no tf.data pipeline)."""
    x = np.asarray(x, np.float32).reshape(len(x), -1)
    parts = [
        np.asarray(model(x[start : start + EVAL_BATCH], training=False)).argmax(axis=1)
        for start in range(0, len(x), EVAL_BATCH)
    ]
    return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)


def error_rate(model: keras.Model, x: np.ndarray, labels: np.ndarray) -> float:
    if len(x) == 0:
        return float("nan")
    return float((predict_classes(model, x) != np.asarray(labels)).mean())


# ----------------------------------------------------------------------------- training


@dataclass(frozen=True)
class TrainSettings:
    """How one model is trained (config keys of the same names; no defaults here)."""

    architecture: str
    weight_decay: float | tuple[float, ...]
    training_set: str
    seed: int
    epochs: int
    batch_size: int
    learning_rate: float
    max_train_samples: int | None
    autoencoder_epochs: int

    @classmethod
    def from_config(cls, settings: Mapping[str, Any]) -> TrainSettings:
        values = config_fields(cls, settings, "training")
        if isinstance(values["weight_decay"], list):
            values["weight_decay"] = tuple(values["weight_decay"])
        return cls(**values)


@dataclass
class TrainedModel:
    """A trained model and what Table 1 (and 3) reports about it."""

    model: keras.Model
    history: dict[str, np.ndarray]
    train_error: float
    test_error: float
    error_p1: float
    error_p2: float
    n_train: int
    test_predicted: np.ndarray
    seconds: float


def _fit(
    model: keras.Model,
    x: np.ndarray,
    y: np.ndarray,
    loss: Any,
    settings: TrainSettings,
    epochs: int,
    metrics: list[str] | None = None,
) -> dict[str, np.ndarray]:
    model.compile(
        optimizer=keras.optimizers.Adam(settings.learning_rate), loss=loss, metrics=metrics
    )
    fit = model.fit(x, y, batch_size=settings.batch_size, epochs=epochs, shuffle=True, verbose=0)
    return {key: np.asarray(values, np.float64) for key, values in fit.history.items()}


def train_model(settings: TrainSettings, mnist: Mnist, split_seed: int) -> TrainedModel:
    """Train one model with Adam, seeded and with deterministic kernels, on the MNIST
    artifact's arrays (``P1``/``P2``: halves of the permutation seeded ``split_seed``).

    ``ae400-10``: the autoencoder (784-H-784, sigmoid, binary cross-entropy,
    the encoder's decay on both its kernels) trains ``autoencoder_epochs``
    first; the softmax on its frozen features then trains ``epochs``.
    """
    if settings.epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {settings.epochs}")
    make_deterministic(settings.seed)
    architecture = parse_architecture(settings.architecture)
    x_all, y_all = pixels(mnist["train/images"]), np.asarray(mnist["train/labels"], np.int64)
    halves = split_halves(len(x_all), split_seed)
    chosen = training_indices(
        settings.training_set, len(x_all), split_seed, settings.max_train_samples
    )
    x_train, y_train = x_all[chosen], y_all[chosen]
    x_test, y_test = pixels(mnist["test/images"]), np.asarray(mnist["test/labels"], np.int64)
    model = build_model(settings.architecture, settings.weight_decay)
    history: dict[str, np.ndarray] = {}
    started = time.perf_counter()
    if architecture.kind == "ae":
        decays = decay_per_layer(architecture, settings.weight_decay)
        encoder = model.get_layer("fc1")
        regulariser = keras.regularizers.L2(decays[0] / 2.0) if decays[0] else None
        decoder = keras.layers.Dense(
            N_PIXELS, activation="sigmoid", name="decoder", kernel_regularizer=regulariser
        )
        autoencoder = keras.Model(model.inputs, decoder(encoder.output), name="autoencoder")
        if settings.autoencoder_epochs > 0:
            history |= {
                f"autoencoder_{key}": values
                for key, values in _fit(
                    autoencoder,
                    x_train,
                    x_train,
                    keras.losses.BinaryCrossentropy(),
                    settings,
                    settings.autoencoder_epochs,
                ).items()
            }
        encoder.trainable = False
    history |= _fit(
        model,
        x_train,
        y_train,
        keras.losses.SparseCategoricalCrossentropy(),
        settings,
        settings.epochs,
        ["accuracy"],
    )
    if architecture.kind == "ae":
        model.get_layer("fc1").trainable = True  # saved trainable, as every other model
    seconds = time.perf_counter() - started
    test_predicted = predict_classes(model, x_test)
    return TrainedModel(
        model=model,
        history=history,
        train_error=error_rate(model, x_train, y_train),
        test_error=float((test_predicted != y_test).mean()),
        error_p1=error_rate(model, x_all[halves["P1"]], y_all[halves["P1"]]),
        error_p2=error_rate(model, x_all[halves["P2"]], y_all[halves["P2"]]),
        n_train=len(chosen),
        test_predicted=test_predicted,
        seconds=seconds,
    )


def layer_outputs(model: keras.Model, names: Sequence[str]) -> keras.Model:
    """A model from the pixels to the named layers' outputs (hidden representations)."""
    missing = [name for name in names if name not in [layer.name for layer in model.layers]]
    if missing:
        raise ValueError(f"model '{model.name}' has no layer {', '.join(missing)}")
    return keras.Model(model.inputs[0], [model.get_layer(name).output for name in names])

"""An MNIST autoencoder and its per-image reconstruction error: the detector of the defences study.

The slides (seed 003) train the Keras blog's small MNIST autoencoder and
reject an input whose reconstruction loss is far above that of normal
digits. Here the architecture and the loss come from the settings:

- ``dense``: ``784 -> hidden_units (ReLU, the last one the code) -> mirrored -> 784 (sigmoid)``,
  the blog's "deep" autoencoder with ``hidden_units = [128, 64, 32]``, its
  simplest one with ``[32]``;
- ``conv``: one or two stride-2 3x3 convolutions (``hidden_units`` filters),
  mirrored by transposed convolutions, then a 3x3 sigmoid convolution.

Every model takes flat rows of 784 pixels in [0, 1] and returns 784
reconstructed pixels in (0, 1). The reconstruction error of an image is its
training loss averaged over the pixels (``bce``: binary cross-entropy, the
blog's and the slides' loss; ``mse``: squared error), computed by one
definition, :func:`per_image_error`, both as a TensorFlow callable (adaptive
attacks differentiate through it) and in batched NumPy.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from fooled.core.progress import Progress
from fooled.core.settings import config_fields
from fooled.models.runtime import make_deterministic

ARCHITECTURES = ("dense", "conv")
LOSSES = ("bce", "mse")
IMAGE_SHAPE = (28, 28)
INPUT_SIZE = 784
# Keras clips probabilities to [EPSILON, 1 - EPSILON] in its binary cross-entropy; so do we,
# so that the error of an image equals the loss Keras trains on.
EPSILON = 1e-7
LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class AutoencoderSettings:
    """Architecture, loss and training of the autoencoder (config keys; no defaults here)."""

    architecture: str
    hidden_units: tuple[int, ...]
    loss: str
    learning_rate: float
    epochs: int
    batch_size: int
    seed: int
    max_train_samples: int | None

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden_units", tuple(int(u) for u in self.hidden_units))
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"architecture '{self.architecture}' not one of {ARCHITECTURES}")
        if self.loss not in LOSSES:
            raise ValueError(f"loss '{self.loss}' not one of {LOSSES}")
        if not self.hidden_units or min(self.hidden_units) < 1:
            raise ValueError(f"hidden_units must be positive widths: {self.hidden_units}")
        if self.architecture == "conv" and len(self.hidden_units) > 2:
            raise ValueError("a conv autoencoder has one or two levels (28 -> 14 -> 7 pixels)")

    @classmethod
    def from_config(cls, settings: Mapping[str, Any]) -> AutoencoderSettings:
        """The settings of a config mapping (keys named as the fields; others ignored)."""
        return cls(**config_fields(cls, settings, "autoencoder"))


def build_autoencoder(architecture: str, hidden_units: tuple[int, ...]) -> keras.Model:
    """The autoencoder: flat 784-pixel rows in, 784 sigmoid pixels out."""
    inputs = keras.Input(shape=(INPUT_SIZE,), name="pixels")
    if architecture == "dense":
        hidden = inputs
        for depth, units in enumerate(hidden_units, start=1):
            hidden = keras.layers.Dense(units, activation="relu", name=f"encode{depth}")(hidden)
        for depth, units in enumerate(reversed(hidden_units[:-1]), start=1):
            hidden = keras.layers.Dense(units, activation="relu", name=f"decode{depth}")(hidden)
        outputs = keras.layers.Dense(INPUT_SIZE, activation="sigmoid", name="reconstruction")(
            hidden
        )
    elif architecture == "conv":
        hidden = keras.layers.Reshape((*IMAGE_SHAPE, 1), name="image")(inputs)
        for depth, filters in enumerate(hidden_units, start=1):
            hidden = keras.layers.Conv2D(
                filters, 3, strides=2, padding="same", activation="relu", name=f"encode{depth}"
            )(hidden)
        for depth, filters in enumerate(reversed(hidden_units), start=1):
            hidden = keras.layers.Conv2DTranspose(
                filters, 3, strides=2, padding="same", activation="relu", name=f"decode{depth}"
            )(hidden)
        image = keras.layers.Conv2D(1, 3, padding="same", activation="sigmoid", name="output")(
            hidden
        )
        outputs = keras.layers.Flatten(name="reconstruction")(image)
    else:
        raise ValueError(f"architecture '{architecture}' not one of {ARCHITECTURES}")
    return keras.Model(inputs, outputs, name=f"mnist_autoencoder_{architecture}")


def per_image_error(loss: str, x: tf.Tensor, reconstruction: tf.Tensor) -> tf.Tensor:
    """The loss of each row, averaged over its pixels (``x`` and ``reconstruction``: (n, 784))."""
    if loss == "bce":
        r = tf.clip_by_value(reconstruction, EPSILON, 1.0 - EPSILON)
        return -tf.reduce_mean(x * tf.math.log(r) + (1.0 - x) * tf.math.log(1.0 - r), axis=-1)
    if loss == "mse":
        return tf.reduce_mean(tf.square(x - reconstruction), axis=-1)
    raise ValueError(f"loss '{loss}' not one of {LOSSES}")


class ReconstructionError:
    """An autoencoder's per-image reconstruction error: the detector's score.

    Call it on a TensorFlow batch (any shape, batch first, pixels in [0, 1])
    inside a tape or a compiled graph, or use :meth:`numpy` for batched
    evaluation. Instances are hashable by identity, so attacks cache their
    compiled graphs per detector.
    """

    def __init__(self, model: keras.Model, loss: str) -> None:
        if loss not in LOSSES:
            raise ValueError(f"loss '{loss}' not one of {LOSSES}")
        self.model = model
        self.loss = loss
        signature = [tf.TensorSpec([None, INPUT_SIZE], tf.float32)]
        self._graph = tf.function(self.__call__, input_signature=signature, autograph=False)

    def __call__(self, x: tf.Tensor) -> tf.Tensor:
        x = tf.reshape(tf.convert_to_tensor(x, tf.float32), [-1, INPUT_SIZE])
        return per_image_error(self.loss, x, self.model(x, training=False))

    def reconstruct_numpy(self, x: np.ndarray, batch_size: int = 4096) -> np.ndarray:
        """Reconstructions of ``x``, shaped like ``x``."""
        x = np.asarray(x, np.float32)
        flat = x.reshape(len(x), INPUT_SIZE)
        parts = [
            np.asarray(self.model(tf.constant(flat[start : start + batch_size]), training=False))
            for start in range(0, len(flat), batch_size)
        ]
        out = np.concatenate(parts) if parts else np.zeros((0, INPUT_SIZE), np.float32)
        return out.reshape(x.shape)

    def numpy(self, x: np.ndarray, batch_size: int = 4096) -> np.ndarray:
        """The error of every image of ``x`` (n, ...) as float32 (n,)."""
        flat = np.asarray(x, np.float32).reshape(len(x), INPUT_SIZE)
        parts = [
            self._graph(tf.constant(flat[start : start + batch_size])).numpy()
            for start in range(0, len(flat), batch_size)
        ]
        return np.concatenate(parts).astype(np.float32) if parts else np.zeros(0, np.float32)


def load_detector(model_path: str, errors_path: str) -> tuple[ReconstructionError, dict[str, Any]]:
    """A trained autoencoder as a detector's score, with the attributes of its errors file
    (the loss it scores with, the threshold set on clean images, ...): what the defences
    study writes and every study that scores images with it reads."""
    from fooled.core import h5io
    from fooled.models.runtime import load_model

    attrs = h5io.read_attrs(errors_path)
    return ReconstructionError(load_model(model_path), str(attrs["loss"])), attrs


@dataclass
class AutoencoderTraining:
    model: keras.Model
    history: dict[str, np.ndarray]
    seconds: float


class _EpochProgress(keras.callbacks.Callback):
    def __init__(self, progress: Progress) -> None:
        super().__init__()
        self.progress = progress

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        self.progress.update(1, **{key: float(value) for key, value in (logs or {}).items()})


def train_autoencoder(
    images: np.ndarray,
    settings: AutoencoderSettings,
    validation: np.ndarray | None = None,
    logger: logging.Logger = LOGGER,
) -> AutoencoderTraining:
    """Train with Adam on ``images`` (n, 28, 28) or (n, 784) in [0, 1]; seeded, deterministic.

    ``max_train_samples`` keeps the first N images (quick configurations).
    """
    make_deterministic(settings.seed)
    x = np.asarray(images, np.float32).reshape(len(images), INPUT_SIZE)
    if settings.max_train_samples is not None:
        x = x[: settings.max_train_samples]
    model = build_autoencoder(settings.architecture, settings.hidden_units)
    loss = (
        keras.losses.BinaryCrossentropy()
        if settings.loss == "bce"
        else keras.losses.MeanSquaredError()
    )
    model.compile(optimizer=keras.optimizers.Adam(settings.learning_rate), loss=loss)
    validation_data = None
    if validation is not None:
        flat = np.asarray(validation, np.float32).reshape(len(validation), INPUT_SIZE)
        validation_data = (flat, flat)
    started = time.perf_counter()
    with Progress(settings.epochs, "autoencoder training", "epoch", logger=logger) as progress:
        fit = model.fit(
            x,
            x,
            batch_size=settings.batch_size,
            epochs=settings.epochs,
            shuffle=True,
            validation_data=validation_data,
            callbacks=[_EpochProgress(progress)],
            verbose=0,
        )
    seconds = time.perf_counter() - started
    history = {key: np.asarray(values, np.float64) for key, values in fit.history.items()}
    return AutoencoderTraining(model=model, history=history, seconds=seconds)

"""Adversarial training (Goodfellow, Shlens, Szegedy 2015, section 5) of any Keras classifier.

Every batch, fast-gradient-sign examples are made from the *current* model,
and the parameters follow the gradient of

    alpha * J(x, y) + (1 - alpha) * J(x + eps * sign(grad_x J(x, y)), y)

(the paper: alpha = 0.5, eps = 0.25 on MNIST), the adversarial example held
fixed while differentiating with respect to the weights. The model is
trained in place: start from a fresh model (the paper's setting) or from a
trained one (adversarial fine-tuning, the quick configuration).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from fooled.core.progress import Progress
from fooled.core.settings import config_fields
from fooled.models.handle import preprocess_fn
from fooled.models.runtime import make_deterministic

LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class AdversarialTrainingSettings:
    """The objective's weight and size, and the optimiser (config keys; no defaults here)."""

    alpha: float
    epsilon: float
    epochs: int
    batch_size: int
    learning_rate: float
    seed: int
    max_train_samples: int | None

    def __post_init__(self) -> None:
        if not 0.0 <= self.alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {self.alpha}")
        if self.epsilon < 0:
            raise ValueError(f"epsilon must be >= 0, got {self.epsilon}")
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError(
                f"epochs and batch_size must be >= 1 ({self.epochs}, {self.batch_size})"
            )

    @classmethod
    def from_config(cls, settings: Mapping[str, Any]) -> AdversarialTrainingSettings:
        """The settings of a config mapping (keys named as the fields; others ignored)."""
        return cls(**config_fields(cls, settings, "adversarial training"))


@dataclass
class AdversarialTrainingResult:
    """Per-epoch means of the objective, its two terms and the training-batch FGSM error."""

    history: dict[str, np.ndarray]
    seconds: float


def shared_logits(model: keras.Model) -> Callable[[tf.Tensor, bool], tf.Tensor]:
    """``(inputs, training) -> logits`` computed with the model's own variables.

    The loss is taken on logits, never on probabilities: Keras clips
    probabilities at ``1 - 1e-7``, which zeroes the input gradient of every
    confidently classified image (no FGSM step for it). Unlike the handle's
    linear copy of a ``Dense(softmax)`` layer, this shares the weights being
    trained.
    """
    last = model.layers[-1]
    activation = getattr(getattr(last, "activation", None), "__name__", None)
    if isinstance(last, keras.layers.Softmax) or (
        isinstance(last, keras.layers.Activation) and activation == "softmax"
    ):
        body = keras.Model(model.input, last.input)
        return lambda x, training: body(x, training=training)
    if isinstance(last, keras.layers.Dense) and activation == "softmax":
        body = keras.Model(model.input, last.input)
        return lambda x, training: tf.matmul(body(x, training=training), last.kernel) + last.bias
    if activation == "softmax":
        raise ValueError(f"model '{model.name}': cannot take logits from a {type(last).__name__}")
    return lambda x, training: model(x, training=training)


def _training_step(model: keras.Model, optimizer: keras.optimizers.Optimizer, preprocess: str):
    to_input = preprocess_fn(preprocess)
    input_shape = [int(d) for d in model.inputs[0].shape[1:]]
    logits_of = shared_logits(model)

    def loss_of(x: tf.Tensor, y: tf.Tensor, training: bool) -> tf.Tensor:
        logits = logits_of(to_input(tf.reshape(x, [-1, *input_shape])), training)
        return tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits)

    @tf.function(autograph=False)
    def step(x, y, alpha, eps):
        with tf.GradientTape() as input_tape:
            input_tape.watch(x)
            clean_for_attack = tf.reduce_sum(loss_of(x, y, False))
        x_adv = tf.clip_by_value(x + eps * tf.sign(input_tape.gradient(clean_for_attack, x)), 0, 1)
        x_adv = tf.stop_gradient(x_adv)
        with tf.GradientTape() as tape:
            clean = tf.reduce_mean(loss_of(x, y, True))
            adversarial_losses = loss_of(x_adv, y, True)
            adversarial = tf.reduce_mean(adversarial_losses)
            total = alpha * clean + (1.0 - alpha) * adversarial
        gradients = tape.gradient(total, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
        out = logits_of(to_input(tf.reshape(x_adv, [-1, *input_shape])), False)
        wrong = tf.cast(tf.argmax(out, axis=-1) != tf.cast(y, tf.int64), tf.float32)
        return total, clean, adversarial, tf.reduce_mean(wrong)

    return step


def train_adversarially(
    model: keras.Model,
    images: np.ndarray,
    labels: np.ndarray,
    settings: AdversarialTrainingSettings,
    preprocess: str = "none",
    logger: logging.Logger = LOGGER,
) -> AdversarialTrainingResult:
    """Train ``model`` in place on clean and FGSM examples (Adam; seeded, deterministic).

    ``images`` are in the pixel scale FGSM works in ([0, 1]), any shape with the
    batch first; ``preprocess`` maps them to the model's input as in
    :class:`fooled.models.handle.ModelHandle`.
    """
    make_deterministic(settings.seed)
    x_all = np.asarray(images, np.float32).reshape(len(images), -1)
    y_all = np.asarray(labels, np.int64).reshape(-1)
    if settings.max_train_samples is not None:
        x_all, y_all = x_all[: settings.max_train_samples], y_all[: settings.max_train_samples]
    optimizer = keras.optimizers.Adam(settings.learning_rate)
    step = _training_step(model, optimizer, preprocess)
    rng = np.random.default_rng(settings.seed)
    n_batches = -(-len(x_all) // settings.batch_size)
    alpha = tf.constant(settings.alpha, tf.float32)
    eps = tf.constant(settings.epsilon, tf.float32)
    names = ("loss", "clean_loss", "adversarial_loss", "adversarial_error")
    history: dict[str, list[float]] = {name: [] for name in names}
    started = time.perf_counter()
    with Progress(settings.epochs * n_batches, "adversarial training", "batch", logger) as progress:
        for _ in range(settings.epochs):
            order = rng.permutation(len(x_all))
            sums = np.zeros(len(names))
            for batch in range(n_batches):
                chosen = order[batch * settings.batch_size : (batch + 1) * settings.batch_size]
                values = step(tf.constant(x_all[chosen]), tf.constant(y_all[chosen]), alpha, eps)
                figures = np.array([float(value) for value in values])
                sums += figures * len(chosen)
                progress.update(1, **dict(zip(names, figures.round(4).tolist(), strict=True)))
            for name, total in zip(names, sums / len(x_all), strict=True):
                history[name].append(float(total))
    seconds = time.perf_counter() - started
    return AdversarialTrainingResult(
        history={name: np.asarray(values, np.float64) for name, values in history.items()},
        seconds=seconds,
    )

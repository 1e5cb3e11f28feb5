"""Fooling images by gradient ascent on one class's score, with L2 decay (Nguyen et al.).

From a start image (noise, or a real image of another class: the slides'
"elephant to tiger shark"), each step follows the gradient of the target
class's score and decays the image towards a centre value, as the authors'
``caffe/ascent/find_fooling_image.py`` does::

    g = grad_x [ score_c(x) - penalty_weight * penalty(x) ]
    x <- x + lr * g
    x <- centre + (1 - l2_decay) * (x - centre)
    x <- clip(x, low, high)

``score`` is the class's softmax ``probability`` (the authors' ``prob``
layer), its ``log_probability`` or its ``logit``. The step size ``lr``
follows ``lr_policy``:

- ``progress`` (the authors'): ``lr = min(max_learning_rate, desired / |g|^2)``
  with ``desired = min(early_progress, late_progress * (1 - p))``, so that to
  first order each step raises the score by ``desired`` (3% early, then a
  tenth of the remaining ``1 - p``); meant for the probability score.
- ``normalised``: ``lr = learning_rate * (high - low) / rms(g)`` (each image's
  step has a root-mean-square of ``learning_rate`` times the pixel range), for
  the logit and log-probability scores on any pixel scale.
- ``constant``: ``lr = learning_rate``.

The authors decay in Caffe's mean-subtracted space, i.e. towards the mean
image; ``centre`` is that point here (default ``low``: MNIST's black
background, LeNet having no mean subtraction; the VGG means for VGG-16).

The whole loop (score, gradient, update, decay, clipping, confidence record)
runs in one compiled TensorFlow graph for the batch of starts. Recorded: the
target's probability before each step and after the last (``steps + 1``
rows), and the first step at which it reaches each threshold (-1 never).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import tensorflow as tf

from fooled.attacks.base import Penalty
from fooled.attacks.evolution import threshold_crossings
from fooled.core.settings import config_fields
from fooled.models.handle import ModelHandle

SCORES = ("probability", "log_probability", "logit")
LR_POLICIES = ("progress", "normalised", "constant")


@dataclass(frozen=True)
class AscentSettings:
    """Gradient-ascent settings (config keys of the same names; defaults in the study schema)."""

    score: str
    lr_policy: str
    learning_rate: float
    early_progress: float
    late_progress: float
    max_learning_rate: float
    steps: int
    l2_decay: float
    thresholds: tuple[float, ...]
    penalty_weight: float

    def __post_init__(self) -> None:
        if self.score not in SCORES:
            raise ValueError(f"score '{self.score}' not one of {', '.join(SCORES)}")
        if self.lr_policy not in LR_POLICIES:
            raise ValueError(f"lr_policy '{self.lr_policy}' not one of {', '.join(LR_POLICIES)}")
        if self.steps < 0 or self.learning_rate <= 0 or not 0.0 <= self.l2_decay < 1.0:
            raise ValueError("steps >= 0, learning_rate > 0 and 0 <= l2_decay < 1")
        if min(self.early_progress, self.late_progress, self.max_learning_rate) <= 0:
            raise ValueError("early_progress, late_progress and max_learning_rate must be > 0")
        if not self.thresholds or any(not 0.0 < t < 1.0 for t in self.thresholds):
            raise ValueError(f"thresholds {self.thresholds} must be probabilities in (0, 1)")
        object.__setattr__(self, "thresholds", tuple(float(t) for t in self.thresholds))

    @classmethod
    def from_config(cls, settings: Mapping[str, Any]) -> AscentSettings:
        return cls(**config_fields(cls, settings, "ascent"))


@dataclass
class AscentResult:
    """``n`` starts, ``S`` steps."""

    images: np.ndarray  # (n, *shape) float32, the final images in [low, high]
    start_images: np.ndarray  # (n, *shape) float32
    target_classes: np.ndarray  # (n,) int64
    confidence_history: np.ndarray  # (S + 1, n) float32: target probability before each step
    threshold_step: np.ndarray  # (T, n) int64: first step at each threshold, -1 never
    threshold_images: np.ndarray  # (T, n, *shape) float32: the image at that step, NaN never
    thresholds: tuple[float, ...]
    final_confidence: np.ndarray  # (n,) float32
    predicted: np.ndarray  # (n,) int64: the final images' top class
    seconds: float


def float32_thresholds(thresholds: Sequence[float]) -> np.ndarray:
    """The smallest float32 at or above each threshold, so that a float32 probability
    passes it exactly when it passes the float64 threshold (as in the recorded steps)."""
    values = np.asarray(thresholds, np.float32)
    below = values.astype(np.float64) < np.asarray(thresholds, np.float64)
    return np.where(below, np.nextafter(values, np.float32(np.inf)), values).astype(np.float32)


class GradientAscent:
    """Gradient ascent to a chosen class, configured once: ``run(model, inputs, targets)``.

    ``penalty`` (optional) maps a batch of images (pixel range, their shape)
    to a per-image cost, subtracted from the score with ``settings.penalty_weight``.
    """

    def __init__(
        self,
        settings: AscentSettings,
        low: float = 0.0,
        high: float = 1.0,
        centre: float | Sequence[float] | None = None,
        penalty: Penalty | None = None,
    ) -> None:
        self.settings = settings
        self.low = float(low)
        self.high = float(high)
        values = low if centre is None else centre
        self.centre = tuple(float(v) for v in np.atleast_1d(np.asarray(values, np.float64)))
        self.penalty = penalty

    def _loop(self, model: ModelHandle, shape: tuple[int, ...]) -> Any:
        settings, low, high = self.settings, self.low, self.high
        centre_values = self.centre
        penalty = self.penalty

        def build() -> Any:
            centre = tf.constant(
                centre_values[0] if len(centre_values) == 1 else centre_values, tf.float32
            )

            def objective(x: tf.Tensor, targets: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
                logits = model.logits(x)
                log_probabilities = tf.nn.log_softmax(logits, axis=-1)
                picked = tf.stack([tf.range(tf.shape(x)[0]), targets], axis=1)
                log_probability = tf.gather_nd(log_probabilities, picked)
                confidence = tf.exp(log_probability)
                if settings.score == "logit":
                    return tf.gather_nd(logits, picked), confidence
                if settings.score == "log_probability":
                    return log_probability, confidence
                return confidence, confidence

            @tf.function(autograph=False)
            def ascend(x0, targets, steps):
                axes = list(range(1, len(shape) + 1))
                span = tf.constant(high - low, tf.float32)
                weight = tf.constant(settings.penalty_weight, tf.float32)

                thresholds = tf.constant(float32_thresholds(settings.thresholds))

                def keep(x, confidence, saved, reached):
                    # The image at the first step each threshold is reached (the authors' X_99...).
                    newly = tf.logical_and(
                        confidence[None, :] >= thresholds[:, None], tf.logical_not(reached)
                    )
                    mask = tf.reshape(newly, [len(settings.thresholds), -1] + [1] * len(shape))
                    return tf.where(mask, x[None], saved), tf.logical_or(reached, newly)

                def body(step, x, history, saved, reached):
                    with tf.GradientTape() as tape:
                        tape.watch(x)
                        score, confidence = objective(x, targets)
                        total = score
                        if penalty is not None:
                            total = total - weight * tf.reshape(penalty(x), [-1])
                        total = tf.reduce_sum(total)
                    gradient = tape.gradient(total, x)
                    history = history.write(step, confidence)
                    saved, reached = keep(x, confidence, saved, reached)
                    squares = tf.reduce_sum(tf.square(gradient), axis=axes, keepdims=True)
                    if settings.lr_policy == "progress":
                        late = settings.late_progress * (1.0 - confidence)
                        desired = tf.minimum(settings.early_progress, late)
                        desired = tf.reshape(desired, [-1] + [1] * len(shape))
                        rate = tf.minimum(
                            settings.max_learning_rate, desired / tf.maximum(squares, 1e-30)
                        )
                    elif settings.lr_policy == "normalised":
                        size = float(np.prod(shape))
                        rms = tf.sqrt(squares / size)
                        rate = settings.learning_rate * span / tf.maximum(rms, 1e-30)
                    else:
                        rate = tf.constant(settings.learning_rate, tf.float32)
                    x = x + rate * gradient
                    x = centre + (1.0 - settings.l2_decay) * (x - centre)
                    x = tf.clip_by_value(x, low, high)
                    return step + 1, x, history, saved, reached

                history = tf.TensorArray(tf.float32, size=steps + 1, element_shape=[None])
                n = tf.shape(x0)[0]
                saved = tf.fill(
                    tf.concat([[len(settings.thresholds)], tf.shape(x0)], 0), float("nan")
                )
                reached = tf.zeros([len(settings.thresholds), n], tf.bool)
                _, x, history, saved, reached = tf.while_loop(
                    lambda step, x, history, saved, reached: step < steps,
                    body,
                    (tf.constant(0), x0, history, saved, reached),
                )
                _, confidence = objective(x, targets)
                history = history.write(steps, confidence)
                saved, _ = keep(x, confidence, saved, reached)
                return x, history.stack(), saved

            return ascend

        key = ("gradient_ascent", shape, settings, low, high, centre_values, penalty)
        return model.compiled(key, build)

    def run(self, model: ModelHandle, inputs: np.ndarray, targets: Sequence[int]) -> AscentResult:
        """Ascend every start image (``inputs``) towards its target class (one batch)."""
        settings = self.settings
        starts = np.asarray(inputs, np.float32)
        targets = np.asarray(targets, np.int64).reshape(-1)
        if len(targets) != len(starts):
            raise ValueError(f"{len(starts)} start images but {len(targets)} target classes")
        if targets.size and (targets.min() < 0 or targets.max() >= model.n_classes):
            raise ValueError(f"target classes outside the model's {model.n_classes}")
        shape = tuple(starts.shape[1:])
        loop = self._loop(model, shape)
        started = time.perf_counter()
        images, history, saved = loop(
            tf.constant(starts),
            tf.constant(targets.astype(np.int32)),
            tf.constant(settings.steps, tf.int32),
        )
        images, history, saved = images.numpy(), history.numpy(), saved.numpy()
        seconds = time.perf_counter() - started
        probabilities = model.probabilities_numpy(images)
        return AscentResult(
            images=images,
            start_images=starts,
            target_classes=targets,
            confidence_history=history,
            threshold_step=threshold_crossings(history, settings.thresholds),
            threshold_images=saved,
            thresholds=settings.thresholds,
            final_confidence=history[-1],
            predicted=probabilities.argmax(axis=1).astype(np.int64),
            seconds=seconds,
        )

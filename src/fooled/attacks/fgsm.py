"""The fast gradient sign method (Goodfellow, Shlens, Szegedy 2015), with an optional penalty.

``x' = clip(x + eps * sign(grad_x J(x, y)), 0, 1)`` for the cross-entropy
``J`` of the true label ``y``: one step that moves every pixel by ``eps``
(less where the pixel box clips it, none where the gradient is exactly 0).

Adaptive variant: a per-example penalty ``P(x)`` (a TensorFlow callable, one
value per image, e.g. an autoencoder's reconstruction error) enters the
objective whose gradient sign is taken, ``J(x, y) - penalty_weight * P(x)``:
the attack raises the classifier's loss while keeping ``P`` low, so a
detector thresholding ``P`` has to be beaten as well.

``gradient`` says how the cross-entropy's gradient is taken. ``float32`` is what TensorFlow,
ART and foolbox do: ``softmax(z) - onehot(y)`` in float32, where a confident network's true
class probability rounds to exactly 1.0, so the true-class term vanishes and the step
follows the other classes' terms alone (on the default MLP, for about a third of the test
images). ``exact`` computes that vector in float64 with the true-class entry as minus the sum
of the others (no cancellation), and without a penalty scales it to a largest entry of 1
before the float32 backward pass (the sign of the gradient does not depend on its scale), so
no term underflows: the attack the method defines, not the one float32 round-off leaves.

``steps > 1`` gives the basic iterative method (Kurakin et al. 2017): steps
of ``2.5 * eps / steps`` (Madry et al.'s rule), each projected back onto the
``eps`` box around ``x`` and onto the pixel box. With ``steps = 1`` the first
step overshoots and the projection puts every pixel exactly ``eps`` away:
plain FGSM.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import tensorflow as tf

from fooled.attacks.base import Penalty
from fooled.core.settings import config_fields
from fooled.models.handle import ModelHandle

STEP_FACTOR = 2.5  # step size of the iterative variant: STEP_FACTOR * eps / steps
GRADIENTS = ("exact", "float32")


@dataclass(frozen=True)
class FGSMSettings:
    """The attack's settings (config keys of the same names; no defaults here).

    ``epsilons``: the L-infinity sizes to attack at (pixels in [0, 1]).
    ``steps``: 1 is FGSM; more is the iterative method.
    ``batch_size``: images per compiled gradient pass.
    ``penalty_weight``: weight of the per-example penalty (with 0 a penalty given is only
    measured on the adversarial images, not optimised).
    ``gradient``: ``exact`` or ``float32`` (module docstring).
    """

    epsilons: tuple[float, ...]
    steps: int
    batch_size: int
    penalty_weight: float
    gradient: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "epsilons", tuple(float(eps) for eps in self.epsilons))
        if not self.epsilons or min(self.epsilons) < 0:
            raise ValueError(f"epsilons must be a non-empty list of values >= 0: {self.epsilons}")
        if self.steps < 1 or self.batch_size < 1:
            raise ValueError(f"steps and batch_size must be >= 1 ({self.steps}, {self.batch_size})")
        if self.penalty_weight < 0:
            raise ValueError(f"penalty_weight must be >= 0, got {self.penalty_weight}")
        if self.gradient not in GRADIENTS:
            raise ValueError(f"gradient must be one of {', '.join(GRADIENTS)}, got {self.gradient}")

    @classmethod
    def from_config(cls, settings: Mapping[str, Any]) -> FGSMSettings:
        """The settings of a config mapping (keys named as the fields; others ignored)."""
        return cls(**config_fields(cls, settings, "FGSM"))


@dataclass
class FGSMResult:
    """Adversarial images at every epsilon and what the model makes of them.

    ``k`` epsilons, ``n`` images. ``confidence`` is the top-class probability;
    ``error_rate`` counts every adversarial image not given its true label
    (images the model already got wrong included, as Goodfellow et al. count).
    ``penalty`` holds the penalty of each adversarial image when one was given.
    """

    epsilons: np.ndarray
    adversarial: np.ndarray
    predicted: np.ndarray
    confidence: np.ndarray
    true_probability: np.ndarray
    clean_predicted: np.ndarray
    clean_confidence: np.ndarray
    labels: np.ndarray
    penalty: np.ndarray | None
    seconds: float

    @property
    def error_rate(self) -> np.ndarray:
        return (self.predicted != self.labels[None]).mean(axis=1)

    @property
    def mean_confidence(self) -> np.ndarray:
        return self.confidence.mean(axis=1)

    @property
    def mean_confidence_misclassified(self) -> np.ndarray:
        """Mean top-class probability over the misclassified images (the paper's figure)."""
        wrong = self.predicted != self.labels[None]
        totals = np.where(wrong, self.confidence, 0.0).sum(axis=1)
        counts = wrong.sum(axis=1)
        return np.where(counts > 0, totals / np.maximum(counts, 1), np.nan)

    @property
    def clean_error(self) -> float:
        return float((self.clean_predicted != self.labels).mean())

    def rows(self) -> list[dict[str, float]]:
        """Error rate and confidences, one row per epsilon (what reports and artifacts keep)."""
        return [
            {
                "epsilon": float(eps),
                "error_rate": float(error),
                "mean_confidence": float(confidence),
                "mean_confidence_misclassified": float(wrong),
            }
            for eps, error, confidence, wrong in zip(
                self.epsilons,
                self.error_rate,
                self.mean_confidence,
                self.mean_confidence_misclassified,
                strict=True,
            )
        ]


def exact_logit_gradient(logits: tf.Tensor, labels: tf.Tensor, normalise: bool) -> tf.Tensor:
    """d cross-entropy / d logits, ``softmax(z) - onehot(y)``, without float32's cancellation:
    float64, the true class's entry as minus the sum of the others; scaled per example to a
    largest entry of 1 when ``normalise`` (for a sign, where the scale does not matter)."""
    z = tf.cast(logits, tf.float64)
    onehot = tf.one_hot(labels, tf.shape(z)[1], dtype=tf.float64)
    others = tf.nn.softmax(z, axis=-1) * (1.0 - onehot)
    gradient = others - onehot * tf.reduce_sum(others, axis=1, keepdims=True)
    if normalise:
        largest = tf.reduce_max(tf.abs(gradient), axis=1, keepdims=True)
        gradient = gradient / tf.maximum(largest, np.finfo(np.float64).tiny)
    return tf.cast(gradient, logits.dtype)


def loss_gradient_function(
    model: ModelHandle, penalty: Penalty | None, gradient: str
) -> Callable[[tf.Tensor, tf.Tensor, tf.Tensor], tf.Tensor]:
    """``(x, y, weight) -> d/dx [J(x, y) - weight * P(x)]`` per image (its sign is the step),
    with the cross-entropy's gradient taken as ``gradient`` says (module docstring)."""

    def objective(x: tf.Tensor, y: tf.Tensor, weight: tf.Tensor) -> tf.Tensor:
        loss = tf.nn.sparse_softmax_cross_entropy_with_logits(y, model.logits(x))
        if penalty is not None:
            loss = loss - weight * penalty(x)
        return tf.reduce_sum(loss)  # per-example terms: the gradient of the sum is per image

    def float32_gradient(x: tf.Tensor, y: tf.Tensor, weight: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            tape.watch(x)
            value = objective(x, y, weight)
        return tape.gradient(value, x)

    def exact_gradient(x: tf.Tensor, y: tf.Tensor, weight: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape(persistent=penalty is not None) as tape:
            tape.watch(x)
            logits = model.logits(x)
            penalised = -weight * tf.reduce_sum(penalty(x)) if penalty is not None else None
        upstream = exact_logit_gradient(logits, y, normalise=penalty is None)
        total = tape.gradient(logits, x, output_gradients=upstream)
        if penalised is not None:
            total = total + tape.gradient(penalised, x)
        return total

    return exact_gradient if gradient == "exact" else float32_gradient


def projected_sign_steps(
    model: ModelHandle, penalty: Penalty | None, gradient: str
) -> Callable[..., tuple[tf.Tensor, tf.Tensor]]:
    """A compiled ``(x0, x, y, eps, step_size, steps, weight) -> (x_adv, penalty of x_adv)``:
    ``steps`` signed steps from ``x``, each projected onto the ``eps`` box around ``x0`` and
    onto the pixel box (FGSM's iterative form and PGD alike)."""
    loss_gradient = loss_gradient_function(model, penalty, gradient)

    @tf.function(reduce_retracing=True, autograph=False)
    def attack(x0, x, y, eps, step_size, steps, weight):
        def step(i, x):
            x = x + step_size * tf.sign(loss_gradient(x, y, weight))
            return i + 1, tf.clip_by_value(tf.clip_by_value(x, x0 - eps, x0 + eps), 0.0, 1.0)

        _, x = tf.while_loop(lambda i, x: i < steps, step, (tf.zeros_like(steps), x))
        scored = penalty(x) if penalty is not None else tf.zeros([tf.shape(x)[0]], tf.float32)
        return x, scored

    return attack


class SignStepAttack:
    """What FGSM and PGD share: construction (their settings dataclass, the pixel range, the
    penalty), the input checks, and the compiled projected sign-step loop run over the
    images in batches."""

    name = "a signed-step attack"

    def __init__(
        self,
        settings: Any,
        low: float = 0.0,
        high: float = 1.0,
        penalty: Penalty | None = None,
    ) -> None:
        if (low, high) != (0.0, 1.0):
            raise ValueError(f"{self.name} works on pixels in [0, 1] (the MNIST studies' scale)")
        self.settings = settings
        self.penalty = penalty

    def _prepare(
        self, model: ModelHandle, inputs: np.ndarray, targets: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, Callable[..., tuple[tf.Tensor, tf.Tensor]]]:
        """The images (float32), their labels and the model's compiled step loop."""
        images = np.asarray(inputs, np.float32)
        labels = np.asarray(targets, np.int64).reshape(-1)
        if len(images) != len(labels):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        penalty, gradient = self.penalty, self.settings.gradient
        attack = model.compiled(
            ("sign_steps", penalty, gradient),
            lambda: projected_sign_steps(model, penalty, gradient),
        )
        return images, labels, attack

    def _steps(
        self,
        attack: Callable[..., tuple[tf.Tensor, tf.Tensor]],
        flat: np.ndarray,
        starts: np.ndarray,
        labels: np.ndarray,
        eps: float,
        step_size: tf.Tensor,
    ) -> tuple[np.ndarray, np.ndarray]:
        """``settings.steps`` projected steps from ``starts`` around ``flat``, batch by batch:
        the adversarial images and their penalties."""
        parts, scores = [], []
        for begin in range(0, len(flat), self.settings.batch_size):
            end = begin + self.settings.batch_size
            x_adv, score = attack(
                tf.constant(flat[begin:end]),
                tf.constant(starts[begin:end]),
                tf.constant(labels[begin:end]),
                tf.constant(eps, tf.float32),
                step_size,
                tf.constant(self.settings.steps, tf.int32),
                tf.constant(self.settings.penalty_weight, tf.float32),
            )
            parts.append(x_adv.numpy())
            scores.append(score.numpy())
        if not parts:
            return flat[:0], np.zeros(0, np.float32)
        return np.concatenate(parts), np.concatenate(scores)


class FGSM(SignStepAttack):
    """Fast gradient sign examples at every epsilon of the settings: an attack configured once.

    ``penalty`` (optional) enters the objective with ``settings.penalty_weight``
    (module docstring). ``run(model, inputs, targets)`` takes images
    (``inputs``) in ``[low, high]`` of any shape with the batch first and
    their true labels (``targets``: FGSM moves away from them) and returns a
    :class:`FGSMResult` whose adversarial images have the same shape.
    """

    name = "FGSM"

    def run(self, model: ModelHandle, inputs: np.ndarray, targets: np.ndarray) -> FGSMResult:
        images, labels, attack = self._prepare(model, inputs, targets)
        flat = images.reshape(len(images), -1)
        started = time.perf_counter()
        adversarial, penalties = [], []
        for eps in self.settings.epsilons:
            # Madry et al.'s step rule: 2.5 eps / steps (with one step: overshoot, then project),
            # in float32 arithmetic, as the compiled loop computed it before PGD shared it.
            step_size = (
                STEP_FACTOR
                * tf.constant(eps, tf.float32)
                / tf.cast(tf.constant(self.settings.steps, tf.int32), tf.float32)
            )
            x_adv, scores = self._steps(attack, flat, flat, labels, eps, step_size)
            adversarial.append(x_adv)
            penalties.append(scores)
        return scored_result(
            FGSMResult,
            model,
            images,
            labels,
            self.settings.epsilons,
            adversarial,
            penalties if self.penalty is not None else None,
            time.perf_counter() - started,
        )


def scored_result(
    result_type: type[FGSMResult],
    model: ModelHandle,
    images: np.ndarray,
    labels: np.ndarray,
    epsilons: tuple[float, ...],
    adversarial: list[np.ndarray],
    penalties: list[np.ndarray] | None,
    seconds: float,
    **extra: Any,
) -> FGSMResult:
    """The result of a signed-step attack: its adversarial images at every epsilon (flat,
    one array per epsilon) scored by the model, beside the clean images' scores."""
    flat = images.reshape(len(images), -1)
    adversarial_array = np.stack(adversarial)
    probabilities = model.probabilities_numpy(adversarial_array.reshape(-1, flat.shape[1]))
    probabilities = probabilities.reshape(len(epsilons), len(flat), -1)
    clean = model.probabilities_numpy(flat)
    return result_type(
        epsilons=np.asarray(epsilons, np.float64),
        adversarial=adversarial_array.reshape(len(epsilons), *images.shape),
        predicted=probabilities.argmax(axis=-1).astype(np.int64),
        confidence=probabilities.max(axis=-1).astype(np.float32),
        true_probability=probabilities[:, np.arange(len(labels)), labels].astype(np.float32),
        clean_predicted=clean.argmax(axis=-1).astype(np.int64),
        clean_confidence=clean.max(axis=-1).astype(np.float32),
        labels=labels,
        penalty=np.stack(penalties).astype(np.float32) if penalties is not None else None,
        seconds=seconds,
        **extra,
    )

"""Micro-level (pixel-space) collision corners by projected gradient descent.

All corners of one experiment are optimised as one batch, and the whole loop
(loss, gradient, update, projection onto the pixel box, convergence test,
trace recording) runs inside a single compiled TensorFlow graph: a Python loop
around a per-step function was measured 4x slower per step, and compiling the
loop with XLA (``jit_compile``) made each step about 3x faster again on the CPU.

Each corner stops (is frozen) at the first step where its ``L_pos`` is below
the threshold; the loop ends when every corner has stopped or at the step
limit, so a setting that cannot converge is reported, not hidden.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, Self

import numpy as np
import tensorflow as tf

from fooled.attacks.base import Penalty
from fooled.attacks.collision_losses import loss_neg, loss_pos, negative_units
from fooled.core.settings import config_fields
from fooled.models.handle import ModelHandle

SQRT_FLOOR = 1e-12  # keeps the penalty unit's gradient finite where the penalty is 0

OPTIMIZERS = ("sgd", "adam")


@dataclass(frozen=True)
class CornerSettings:
    """One experiment's optimisation settings (config keys of the same names).

    No field has a default here: every default lives once, in the study's
    schema (``workflow/schemas/studies/``), and reaches this class through
    the loaded config.
    """

    n_corners: int
    optimizer: str
    learning_rate: float
    w_pos: float
    w_neg: float
    threshold: float
    max_steps: int

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer '{self.optimizer}' not one of {OPTIMIZERS}")

    @classmethod
    def from_config(cls, settings: Mapping[str, Any]) -> CornerSettings:
        """The settings of an experiment's config (keys named as the fields; others ignored)."""
        return cls(**config_fields(cls, settings, "corner"))


@dataclass
class CornerResult:
    """Corners and their optimisation record; traces hold ``steps_run + 1`` rows.

    Row ``s`` of ``loss_pos``/``loss_neg`` is the loss before step ``s``; the
    last row is the loss of the returned corners.
    """

    corners: np.ndarray
    loss_pos: np.ndarray
    loss_neg: np.ndarray
    converged: np.ndarray
    converged_step: np.ndarray
    steps_run: int
    seconds: float
    trace_seconds: float


class MicroCollisionFinder:
    """Finds corners of the collision polytope of ``preact`` around a target.

    ``preact`` maps a float32 batch of inputs to pre-activations; the finder
    never sees the framework that built it beyond that callable.
    """

    def __init__(
        self,
        preact: Callable[[tf.Tensor], tf.Tensor],
        input_low: float = 0.0,
        input_high: float = 1.0,
    ) -> None:
        self._preact = preact
        self._low = input_low
        self._high = input_high
        self._compiled: dict[tuple[str, bool], Callable[..., tuple[tf.Tensor, ...]]] = {}
        # XLA, unless the model has an op whose gradient XLA cannot compute deterministically
        # (a max-pooling layer's, under TensorFlow's op determinism): then TensorFlow's own.
        self.jit_compile = True

    def _loop(self, optimizer: str) -> Callable[..., tuple[tf.Tensor, ...]]:
        key = (optimizer, self.jit_compile)
        if key in self._compiled:
            return self._compiled[key]
        preact_fn, low, high = self._preact, self._low, self._high

        @tf.function(jit_compile=self.jit_compile, autograph=False)
        def optimise(x0, preact_target, units, learning_rate, w_pos, w_neg, threshold, max_steps):
            n = tf.shape(x0)[0]

            def losses_and_gradient(x):
                with tf.GradientTape() as tape:
                    tape.watch(x)
                    preact = preact_fn(x)
                    positive = loss_pos(preact, preact_target)
                    negative = loss_neg(preact, preact_target, units)
                    total = tf.reduce_sum(w_pos * positive + w_neg * negative)
                return positive, negative, tape.gradient(total, x)

            def keep_going(step, x, m, v, converged, converged_step, trace_pos, trace_neg):
                return tf.logical_and(step < max_steps, tf.logical_not(tf.reduce_all(converged)))

            def body(step, x, m, v, converged, converged_step, trace_pos, trace_neg):
                positive, negative, gradient = losses_and_gradient(x)
                trace_pos = trace_pos.write(step, positive)
                trace_neg = trace_neg.write(step, negative)
                newly = tf.logical_and(positive < threshold, tf.logical_not(converged))
                converged_step = tf.where(newly, step, converged_step)
                converged = tf.logical_or(converged, newly)
                active = tf.cast(tf.logical_not(converged), x.dtype)[:, None]
                if optimizer == "adam":
                    beta1, beta2, epsilon = 0.9, 0.999, 1e-7
                    m = beta1 * m + (1.0 - beta1) * gradient
                    v = beta2 * v + (1.0 - beta2) * tf.square(gradient)
                    t = tf.cast(step + 1, x.dtype)
                    m_hat = m / (1.0 - tf.pow(beta1, t))
                    v_hat = v / (1.0 - tf.pow(beta2, t))
                    update = m_hat / (tf.sqrt(v_hat) + epsilon)
                else:
                    update = gradient
                x = tf.clip_by_value(x - learning_rate * active * update, low, high)
                return step + 1, x, m, v, converged, converged_step, trace_pos, trace_neg

            state = (
                tf.constant(0, tf.int32),
                x0,
                tf.zeros_like(x0),
                tf.zeros_like(x0),
                tf.zeros([n], tf.bool),
                tf.fill([n], tf.constant(-1, tf.int32)),
                tf.TensorArray(tf.float32, size=max_steps + 1, element_shape=[None]),
                tf.TensorArray(tf.float32, size=max_steps + 1, element_shape=[None]),
            )
            step, x, _, _, converged, converged_step, trace_pos, trace_neg = tf.while_loop(
                keep_going, body, state, maximum_iterations=max_steps
            )
            positive, negative, _ = losses_and_gradient(x)
            newly = tf.logical_and(positive < threshold, tf.logical_not(converged))
            converged_step = tf.where(newly, step, converged_step)
            converged = tf.logical_or(converged, newly)
            trace_pos = trace_pos.write(step, positive)
            trace_neg = trace_neg.write(step, negative)
            return x, trace_pos.stack(), trace_neg.stack(), converged, converged_step, step

        self._compiled[key] = optimise
        return optimise

    def find(
        self,
        seed: np.ndarray,
        preact_target: np.ndarray,
        units: list[int],
        settings: CornerSettings,
    ) -> CornerResult:
        """One corner per entry of ``units``, all started from ``seed`` (a flat input row)."""
        seed = np.asarray(seed, np.float32).reshape(1, -1)
        x0 = tf.constant(np.repeat(seed, len(units), axis=0))
        arguments = (
            x0,
            tf.constant(np.asarray(preact_target, np.float32).reshape(-1)),
            tf.constant(np.asarray(units, np.int32)),
            tf.constant(settings.learning_rate, tf.float32),
            tf.constant(settings.w_pos, tf.float32),
            tf.constant(settings.w_neg, tf.float32),
            tf.constant(settings.threshold, tf.float32),
            tf.constant(settings.max_steps, tf.int32),
        )
        started = time.perf_counter()
        # XLA compiles on the first call (for each max_steps, which sizes the traces):
        # a call whose threshold every corner already meets stops at once and pays
        # for it, so that ``seconds`` below measures optimisation alone.
        while True:
            concrete = self._loop(settings.optimizer).get_concrete_function(*arguments)
            try:
                concrete(*arguments[:6], tf.constant(np.inf, tf.float32), arguments[7])
                break
            except tf.errors.UnimplementedError:
                if not self.jit_compile:
                    raise
                self.jit_compile = False  # XLA lacks a deterministic kernel (MaxPool's gradient)
        trace_seconds = time.perf_counter() - started

        started = time.perf_counter()
        outputs = concrete(*arguments)
        corners, trace_pos, trace_neg, converged, converged_step, steps = (
            output.numpy() for output in outputs
        )
        seconds = time.perf_counter() - started
        rows = int(steps) + 1  # the traces are preallocated for max_steps + 1 rows (XLA)
        return CornerResult(
            corners=corners,
            loss_pos=trace_pos[:rows],
            loss_neg=trace_neg[:rows],
            converged=converged.astype(bool),
            converged_step=converged_step.astype(np.int64),
            steps_run=int(steps),
            seconds=seconds,
            trace_seconds=trace_seconds,
        )


class CornerTrace(Protocol):
    """What every finder's result records (micro and macro alike)."""

    loss_pos: np.ndarray
    loss_neg: np.ndarray
    converged: np.ndarray
    converged_step: np.ndarray
    steps_run: int
    seconds: float
    trace_seconds: float


@dataclass
class TargetView:
    """The target as the model sees it: pre-activation, probabilities, the corners' units."""

    preact: np.ndarray
    probabilities: np.ndarray
    units: list[int]


def target_view(model: ModelHandle, target: np.ndarray, n_corners: int) -> TargetView:
    """The target's pre-activation and the paper's choice of ``i``: its first negative units."""
    batch = np.asarray(target, np.float32)[None]
    preact = model.preact_numpy(batch)[0]
    return TargetView(
        preact=preact,
        probabilities=model.probabilities_numpy(batch)[0],
        units=negative_units(preact, n_corners),
    )


@dataclass
class Collision:
    """What an attack that makes feature collisions returns, at any level.

    ``corners`` are inputs in the model's pixel scale, shaped like the seed;
    ``trace`` is the optimiser's record (a :class:`CornerResult` or a macro
    result); the rest is the model's view of the target and of the corners
    (the plain model's, also when the attack had a penalty).
    """

    corners: np.ndarray
    target: TargetView
    preact_corners: np.ndarray
    corner_probabilities: np.ndarray
    trace: CornerTrace

    @property
    def seconds(self) -> float:
        """The optimisation's seconds (compilation excluded: ``trace.trace_seconds``)."""
        return float(self.trace.seconds)

    @classmethod
    def evaluate(
        cls, model: ModelHandle, corners: np.ndarray, target: TargetView, trace: CornerTrace
    ) -> Self:
        return cls(
            corners=corners,
            target=target,
            preact_corners=model.preact_numpy(corners),
            corner_probabilities=model.probabilities_numpy(corners),
            trace=trace,
        )


@dataclass
class MicroCollision(Collision):
    """:class:`GradientCorners`' result: the corners and the gradient descent's record."""

    trace: CornerResult


class PenaltyUnit:
    """A model's pre-activation with a penalty as one more unit, for the collision attacks.

    The collision losses reach the model only through the pre-activation, so a
    penalty enters them as one extra unit, ``sqrt(scale * max(penalty(x), 0))``
    (plus :data:`SQRT_FLOOR`), whose target value is 0: ``L_pos`` sums squared
    differences over the target's non-negative units, this one included, so
    ``w_pos * L_pos`` gains exactly ``w_pos * scale * penalty(x)``, i.e.
    ``penalty_weight * penalty(x)`` with ``scale = penalty_weight / w_pos``.
    The one side effect: a corner stops when ``L_pos + scale * penalty`` is
    below the threshold, stricter than the plain criterion.

    ``scale`` is a variable read inside the compiled graphs, so a sweep over
    weights compiles each attack once per model and penalty (one unit per
    handle and penalty: :func:`penalty_unit`).
    """

    def __init__(self, model: ModelHandle, penalty: Penalty) -> None:
        self.model = model
        self.penalty = penalty
        self.scale = tf.Variable(0.0, trainable=False, dtype=tf.float32)

    def set_scale(self, scale: float) -> None:
        self.scale.assign(float(scale))

    def preact(self, x: tf.Tensor) -> tf.Tensor:
        base = self.model.preact(x)
        value = self.scale * tf.maximum(self.penalty(x), 0.0) + SQRT_FLOOR
        return tf.concat([base, tf.sqrt(value)[:, None]], axis=1)

    @staticmethod
    def target(preact_target: np.ndarray) -> np.ndarray:
        """The target's pre-activation with the unit's target value, 0, appended."""
        preact_target = np.asarray(preact_target)
        return np.concatenate([preact_target, np.zeros(1, preact_target.dtype)])


def penalty_unit(model: ModelHandle, penalty: Penalty) -> PenaltyUnit:
    """The one :class:`PenaltyUnit` of ``model`` and ``penalty`` (its graphs are cached with it)."""
    return model.compiled(("penalty_unit", penalty), lambda: PenaltyUnit(model, penalty))


def attacked_preact(
    model: ModelHandle,
    view: TargetView,
    penalty: Penalty | None,
    penalty_weight: float,
    w_pos: float,
) -> tuple[Callable[[tf.Tensor], tf.Tensor], np.ndarray]:
    """The pre-activation a collision attack optimises through, and the target's value of it:
    the model's own, or with the penalty's unit at weight ``penalty_weight``."""
    if penalty is None:
        return model.preact, view.preact
    unit = penalty_unit(model, penalty)
    unit.set_scale(penalty_weight / w_pos)
    return unit.preact, unit.target(view.preact)


class GradientCorners:
    """Micro-level corners by projected gradient descent: an attack configured once.

    ``run(model, inputs, targets)`` finds ``settings.n_corners`` corners of
    the collision polytope of ``model``'s layer around the target image
    ``targets``, all started from the seed image ``inputs``, pixels kept in
    ``[low, high]``. ``penalty`` (optional) adds ``penalty_weight`` times its
    value to the loss, through a :class:`PenaltyUnit` (the collision settings
    have no ``penalty_weight`` key: the defences study passes its weight here).
    """

    def __init__(
        self,
        settings: CornerSettings,
        low: float = 0.0,
        high: float = 1.0,
        penalty: Penalty | None = None,
        penalty_weight: float = 0.0,
    ) -> None:
        self.settings = settings
        self.low = low
        self.high = high
        self.penalty = penalty
        self.penalty_weight = float(penalty_weight)

    def run(self, model: ModelHandle, inputs: np.ndarray, targets: np.ndarray) -> MicroCollision:
        view = target_view(model, targets, self.settings.n_corners)
        preact, preact_target = attacked_preact(
            model, view, self.penalty, self.penalty_weight, self.settings.w_pos
        )
        finder = model.compiled(
            ("gradient_corners", self.low, self.high, self.penalty),
            lambda: MicroCollisionFinder(preact, self.low, self.high),
        )
        seed = np.asarray(inputs, np.float32)
        result = finder.find(seed.reshape(-1), preact_target, view.units, self.settings)
        corners = result.corners.reshape(-1, *seed.shape)
        return MicroCollision.evaluate(model, corners, view, result)


def corner_datasets(
    seed_image: np.ndarray, target_image: np.ndarray, collision: Collision
) -> dict[str, np.ndarray]:
    """The datasets of every collide artifact, MNIST or ImageNet, micro or macro.

    One definition, because the interpolation check and the report read any of
    them the same way (docs/artifacts.md); level-specific datasets are added beside.
    """
    trace = collision.trace
    return {
        "seed_image": seed_image,
        "target_image": target_image,
        "corners": collision.corners.astype(np.float32),
        "negative_units": np.asarray(collision.target.units, np.int64),
        "loss_pos": trace.loss_pos,
        "loss_neg": trace.loss_neg,
        "converged": trace.converged,
        "converged_step": trace.converged_step,
        "preact_target": collision.target.preact.astype(np.float32),
        "preact_corners": collision.preact_corners.astype(np.float32),
        "flipped_units": flipped_units(collision.preact_corners, collision.target.preact),
        "corner_probabilities": collision.corner_probabilities.astype(np.float32),
        "corner_classes": collision.corner_probabilities.argmax(axis=1).astype(np.int64),
    }


def flipped_units(preact_corners: np.ndarray, preact_target: np.ndarray) -> np.ndarray:
    """Per corner, how many of the target's non-positive units ended positive.

    Zero means the corner lies in the exact polytope's half-space part; the
    count measures how approximate the collision is.
    """
    non_positive = np.asarray(preact_target).reshape(-1) <= 0
    return (np.asarray(preact_corners)[:, non_positive] > 0).sum(axis=1).astype(np.int64)

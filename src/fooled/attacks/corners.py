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
from typing import Any, Protocol

import numpy as np
import tensorflow as tf

from fooled.attacks.collision_losses import loss_neg, loss_pos, negative_units
from fooled.core.settings import config_fields
from fooled.models.handle import ModelHandle

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
        self._compiled: dict[str, Callable[..., tuple[tf.Tensor, ...]]] = {}

    def _loop(self, optimizer: str) -> Callable[..., tuple[tf.Tensor, ...]]:
        if optimizer in self._compiled:
            return self._compiled[optimizer]
        preact_fn, low, high = self._preact, self._low, self._high

        @tf.function(jit_compile=True)
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

        self._compiled[optimizer] = optimise
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
        loop = self._loop(settings.optimizer)
        started = time.perf_counter()
        concrete = loop.get_concrete_function(*arguments)
        # XLA compiles on the first call (for each max_steps, which sizes the traces):
        # a call whose threshold every corner already meets stops at once and pays
        # for it, so that ``seconds`` below measures optimisation alone.
        concrete(*arguments[:6], tf.constant(np.inf, tf.float32), arguments[7])
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
    result); the rest is the model's view of the target and of the corners.
    """

    corners: np.ndarray
    target: TargetView
    preact_corners: np.ndarray
    corner_probabilities: np.ndarray
    trace: CornerTrace

    @classmethod
    def evaluate(
        cls, model: ModelHandle, corners: np.ndarray, target: TargetView, trace: CornerTrace
    ) -> Collision:
        return cls(
            corners=corners,
            target=target,
            preact_corners=model.preact_numpy(corners),
            corner_probabilities=model.probabilities_numpy(corners),
            trace=trace,
        )


class GradientCorners:
    """Micro-level corners by projected gradient descent: an attack configured once.

    ``run(model, seed, target)`` finds ``settings.n_corners`` corners of the
    collision polytope of ``model``'s layer around ``target``, all started
    from ``seed``, pixels kept in ``[low, high]``.
    """

    def __init__(self, settings: CornerSettings, low: float = 0.0, high: float = 1.0) -> None:
        self.settings = settings
        self.low = low
        self.high = high

    def run(self, model: ModelHandle, seed: np.ndarray, target: np.ndarray) -> Collision:
        view = target_view(model, target, self.settings.n_corners)
        finder = model.compiled(
            ("gradient_corners", self.low, self.high),
            lambda: MicroCollisionFinder(model.preact, self.low, self.high),
        )
        seed = np.asarray(seed, np.float32)
        result = finder.find(seed.reshape(-1), view.preact, view.units, self.settings)
        corners = result.corners.reshape(-1, *seed.shape)
        return Collision.evaluate(model, corners, view, result)


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

"""Macro-level (patch-space) collisions: the composite G(P, Q), its optimiser and checkpoints.

The input is a per-pixel softmax mixture of K source images (SPEC section 2):
``x[i, j] = sum_k softmax_k(P)[i, j] * Q_k[i, j]``. Only the control logits
``P`` are optimised; the sources ``Q`` are a constant (``tf.stop_gradient``),
so every composite is a convex combination of real image content at every
pixel and stays inside the sources' pixel range.

Loss per corner ``i``: ``w_pos * L_pos + w_neg * L_neg^i + w_tv * TV(softmax(P))``
(the authors' weights are 1000 / 1 / 100 on VGG-16's FC-6), where TV sums,
over the sources, the absolute differences of vertically and horizontally
adjacent weights. The authors' optimiser (SPEC section 3) keeps an exponential
moving average of the gradient, ``m = 0.99 m + 0.01 g``, and steps
``P -= lr(step) * m`` with a piecewise-constant, mostly *rising* learning rate
over 20,000 steps.

Long runs (20,000 VGG-16 steps are hours on a GPU) hand their state (``P``,
``m``, the step and the loss traces: :class:`MacroState`) to the caller's
``on_checkpoint`` every ``checkpoint_every`` steps and continue from such a
state given as ``resume``; the stage writes and reads the file
(:mod:`fooled.core.checkpoints`), as for MAP-Elites. The loop runs in compiled
chunks of ``chunk_steps`` steps whether or not it checkpoints, and a state is
only taken between chunks, so a resumed run executes exactly the same
sequence of compiled chunks on exactly the same state as an uninterrupted
one and gives the same bits.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import tensorflow as tf

from fooled.attacks.base import Penalty, checkpoint_due
from fooled.attacks.collision_losses import loss_neg, loss_pos
from fooled.attacks.corners import Collision, attacked_preact, target_view
from fooled.core.progress import Progress
from fooled.models.handle import ModelHandle

TRACES = ("loss_pos", "loss_neg", "tv")  # the loss traces a run records, one row per step

# Weights of zero (pixels outside a source's window) become this logit: exp(-30) ~ 1e-13.
LOG_FLOOR = -30.0


@dataclass(frozen=True)
class MacroSettings:
    """One macro experiment's optimisation settings (config keys of the same names).

    No defaults here: they live once, in the study schemas (the authors'
    weights and schedule are the ImageNet study's defaults).
    """

    n_corners: int
    w_pos: float
    w_neg: float
    w_tv: float
    momentum: float
    boundaries: tuple[int, ...]
    values: tuple[float, ...]
    max_steps: int
    threshold: float
    chunk_steps: int
    checkpoint_every: int

    def __post_init__(self) -> None:
        check_schedule(self.boundaries, self.values)
        if self.max_steps < 1 or self.chunk_steps < 1:
            raise ValueError("max_steps and chunk_steps must be positive")
        if self.checkpoint_every < 0 or (
            self.checkpoint_every and self.checkpoint_every % self.chunk_steps
        ):
            raise ValueError(
                f"checkpoint_every ({self.checkpoint_every}) must be 0 (never) or a multiple "
                f"of chunk_steps ({self.chunk_steps})"
            )
        if not 0.0 <= self.momentum < 1.0:
            raise ValueError(f"momentum {self.momentum} not in [0, 1)")

    @classmethod
    def from_config(cls, settings: Mapping[str, Any]) -> MacroSettings:
        schedule = settings["schedule"]
        return cls(
            n_corners=int(settings["n_corners"]),
            w_pos=float(settings["w_pos"]),
            w_neg=float(settings["w_neg"]),
            w_tv=float(settings["w_tv"]),
            momentum=float(settings["momentum"]),
            boundaries=tuple(int(b) for b in schedule["boundaries"]),
            values=tuple(float(v) for v in schedule["values"]),
            max_steps=int(settings["max_steps"]),
            threshold=float(settings["threshold"]),
            chunk_steps=int(settings["chunk_steps"]),
            checkpoint_every=int(settings["checkpoint_every"]),
        )


def check_schedule(boundaries: Sequence[int], values: Sequence[float]) -> None:
    if len(values) != len(boundaries) + 1:
        raise ValueError(
            f"learning-rate schedule: {len(values)} values need {len(values) - 1} boundaries, "
            f"got {len(boundaries)}"
        )
    if any(b <= a for a, b in zip(boundaries, boundaries[1:], strict=False)):
        raise ValueError(f"learning-rate boundaries {list(boundaries)} are not increasing")
    if any(v <= 0 for v in values):
        raise ValueError(f"learning rates {list(values)} must be positive")


def schedule_numpy(steps, boundaries: Sequence[int], values: Sequence[float]) -> np.ndarray:
    """Learning rate at each step: ``values[j]`` from ``boundaries[j-1]`` (inclusive) on."""
    index = np.searchsorted(np.asarray(boundaries), np.asarray(steps), side="right")
    return np.asarray(values, np.float64)[index]


def schedule_tf(step: tf.Tensor, boundaries: tf.Tensor, values: tf.Tensor) -> tf.Tensor:
    """:func:`schedule_numpy` inside a graph (``step`` int32 scalar)."""
    index = tf.reduce_sum(tf.cast(step >= boundaries, tf.int32))
    return tf.gather(values, index)


def initial_logits(weights: np.ndarray, floor: float = LOG_FLOOR) -> np.ndarray:
    """``P`` at the start: log of the initial weights, zeros clipped to ``floor``."""
    weights = np.asarray(weights, np.float64)
    with np.errstate(divide="ignore"):
        logits = np.log(weights)
    return np.maximum(logits, floor).astype(np.float32)


def control_weights(logits: tf.Tensor) -> tf.Tensor:
    """softmax over the sources (axis 1 of ``(n, K, H, W)``)."""
    return tf.nn.softmax(logits, axis=1)


def composite(logits: tf.Tensor, sources: tf.Tensor) -> tf.Tensor:
    """``G(P, Q)``: ``(n, K, H, W)`` logits and ``(K, H, W, C)`` sources to ``(n, H, W, C)``.

    The sources are a constant: no gradient flows into them.
    """
    weights = control_weights(logits)
    return tf.einsum("nkhw,khwc->nhwc", weights, tf.stop_gradient(sources))


def total_variation(weights: tf.Tensor) -> tf.Tensor:
    """Per row ``n``: sum over sources of |vertical| + |horizontal| neighbour differences."""
    vertical = tf.abs(weights[:, :, 1:, :] - weights[:, :, :-1, :])
    horizontal = tf.abs(weights[:, :, :, 1:] - weights[:, :, :, :-1])
    return tf.reduce_sum(vertical, axis=[1, 2, 3]) + tf.reduce_sum(horizontal, axis=[1, 2, 3])


def composite_numpy(logits: np.ndarray, sources: np.ndarray) -> np.ndarray:
    """:func:`composite` in float64 NumPy (tests, figures)."""
    logits = np.asarray(logits, np.float64)
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    weights = shifted / shifted.sum(axis=1, keepdims=True)
    return np.einsum("nkhw,khwc->nhwc", weights, np.asarray(sources, np.float64))


def macro_losses(
    logits: tf.Tensor,
    sources: tf.Tensor,
    preact_fn: Callable[[tf.Tensor], tf.Tensor],
    preact_target: tf.Tensor,
    units: tf.Tensor,
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """``L_pos``, ``L_neg^i`` and ``TV`` per corner (one row of ``logits`` per corner)."""
    weights = control_weights(logits)
    images = tf.einsum("nkhw,khwc->nhwc", weights, tf.stop_gradient(sources))
    preact = preact_fn(images)
    return (
        loss_pos(preact, preact_target),
        loss_neg(preact, preact_target, units),
        total_variation(weights),
    )


@dataclass
class MacroResult:
    """Optimised logits, corners and traces (``steps_run + 1`` rows: the loss before each step,
    then the loss of the returned corners)."""

    logits: np.ndarray
    corners: np.ndarray
    loss_pos: np.ndarray
    loss_neg: np.ndarray
    loss_tv: np.ndarray
    converged: np.ndarray
    converged_step: np.ndarray
    steps_run: int
    seconds: float
    trace_seconds: float
    resumed_from: int
    checkpoints_written: list[int] = field(default_factory=list)


@dataclass
class MacroState:
    """The optimiser's whole state after ``step`` steps (what a checkpoint holds).

    ``traces`` hold one row per step done (the loss before each step).
    """

    step: int
    logits: np.ndarray  # (n, K, H, W): P
    momentum: np.ndarray  # (n, K, H, W): m
    traces: dict[str, np.ndarray]  # TRACES, each (step, n)

    @property
    def completed(self) -> int:
        """Steps done (the attack's resumable-state contract, :mod:`fooled.attacks.base`)."""
        return self.step

    def arrays(self) -> dict[str, np.ndarray]:
        """The state as named arrays (an HDF5 checkpoint's datasets)."""
        arrays = {"logits": self.logits, "momentum": self.momentum}
        return arrays | {f"traces/{name}": values for name, values in self.traces.items()}

    def attrs(self) -> dict[str, Any]:
        return {"step": self.step}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], attrs: Mapping[str, Any]) -> MacroState:
        """The inverse of :meth:`arrays` and :meth:`attrs`."""
        return cls(
            step=int(attrs["step"]),
            logits=np.array(arrays["logits"]),
            momentum=np.array(arrays["momentum"]),
            traces={name: np.array(arrays[f"traces/{name}"]) for name in TRACES},
        )


class MacroCollisionFinder:
    """Corners of the collision polytope in the space of per-pixel source mixtures.

    ``preact`` maps a float32 batch of composite images ``(n, H, W, C)`` (in the
    sources' pixel scale) to the layer's pre-activations; ``sources`` are the
    K source images ``(K, H, W, C)``. All corners are optimised as one batch,
    each chunk of steps in one XLA-compiled graph.
    """

    def __init__(
        self,
        preact: Callable[[tf.Tensor], tf.Tensor],
        sources: np.ndarray,
        chunk_steps: int = 500,
        jit_compile: bool = True,
    ) -> None:
        self._preact = preact
        self._sources = tf.constant(np.asarray(sources, np.float32))
        self._chunk = int(chunk_steps)
        self._jit = jit_compile
        self._run_chunk = self._build_chunk()
        self._evaluate = tf.function(self._losses, jit_compile=jit_compile, autograph=False)

    def _losses(self, logits, preact_target, units):
        return macro_losses(logits, self._sources, self._preact, preact_target, units)

    def _build_chunk(self):
        chunk, losses = self._chunk, self._losses

        @tf.function(jit_compile=self._jit, autograph=False)
        def run_chunk(
            logits, momentum, step0, n_steps, preact_target, units, weights, beta, bounds, rates
        ):
            w_pos, w_neg, w_tv = weights[0], weights[1], weights[2]

            def body(i, p, m, trace_pos, trace_neg, trace_tv):
                with tf.GradientTape() as tape:
                    tape.watch(p)
                    positive, negative, tv = losses(p, preact_target, units)
                    total = tf.reduce_sum(w_pos * positive + w_neg * negative + w_tv * tv)
                gradient = tape.gradient(total, p)
                m = beta * m + (1.0 - beta) * gradient
                p = p - schedule_tf(step0 + i, bounds, rates) * m
                return (
                    i + 1,
                    p,
                    m,
                    trace_pos.write(i, positive),
                    trace_neg.write(i, negative),
                    trace_tv.write(i, tv),
                )

            def arrays():
                return tf.TensorArray(tf.float32, size=chunk, element_shape=logits.shape[:1])

            _, p, m, tp, tn, tt = tf.while_loop(
                lambda i, *_: i < n_steps,
                body,
                (tf.constant(0, tf.int32), logits, momentum, arrays(), arrays(), arrays()),
                maximum_iterations=chunk,
            )
            return p, m, tp.stack(), tn.stack(), tt.stack()

        return run_chunk

    def corners(self, logits: np.ndarray) -> np.ndarray:
        return composite(tf.constant(logits), self._sources).numpy()

    def find(
        self,
        initial_logits: np.ndarray,
        preact_target: np.ndarray,
        units: Sequence[int],
        settings: MacroSettings,
        resume: MacroState | None = None,
        on_checkpoint: Callable[[MacroState], None] | None = None,
        progress: Progress | None = None,
    ) -> MacroResult:
        """One corner per entry of ``units``, each started from ``initial_logits`` ``(K, H, W)``.

        ``resume`` continues from a state of the same problem; ``on_checkpoint``
        receives the state every ``settings.checkpoint_every`` steps (never
        after the last). ``progress`` is advanced after every chunk (and after
        its checkpoint, if any) with the corners' ``L_pos``.
        """
        if settings.chunk_steps != self._chunk:
            raise ValueError(
                f"settings.chunk_steps {settings.chunk_steps} != the finder's {self._chunk}"
            )
        n = len(units)
        p0 = np.repeat(np.asarray(initial_logits, np.float32)[None], n, axis=0)
        target = tf.constant(np.asarray(preact_target, np.float32).reshape(-1))
        units_t = tf.constant(np.asarray(units, np.int32))
        constants = (
            target,
            units_t,
            tf.constant([settings.w_pos, settings.w_neg, settings.w_tv], tf.float32),
            tf.constant(settings.momentum, tf.float32),
            tf.constant(settings.boundaries, tf.int32),
            tf.constant(settings.values, tf.float32),
        )
        step, p, m = 0, p0, np.zeros_like(p0)
        traces = {name: np.zeros((0, n), np.float32) for name in TRACES}
        resumed_from = 0
        if resume is not None:
            if resume.logits.shape != p0.shape or resume.step > settings.max_steps:
                raise ValueError(
                    f"a state of logits {resume.logits.shape} after {resume.step} steps cannot "
                    f"resume a run of logits {p0.shape} and {settings.max_steps} steps"
                )
            step, p, m, traces = resume.step, resume.logits, resume.momentum, resume.traces
            resumed_from = step
            if progress is not None:
                progress.restart_at(step)

        # Compile (XLA) on a zero-step chunk so that ``seconds`` measures optimisation alone.
        started = time.perf_counter()
        self._run_chunk(tf.constant(p), tf.constant(m), tf.constant(0), tf.constant(0), *constants)
        self._evaluate(tf.constant(p), target, units_t)
        trace_seconds = time.perf_counter() - started

        started = time.perf_counter()
        written: list[int] = []
        p_t, m_t = tf.constant(p), tf.constant(m)
        parts = {name: [values] for name, values in traces.items()}
        while step < settings.max_steps:
            count = min(self._chunk, settings.max_steps - step)
            p_t, m_t, tp, tn, tt = self._run_chunk(
                p_t, m_t, tf.constant(step), tf.constant(count), *constants
            )
            for name, values in zip(TRACES, (tp, tn, tt), strict=True):
                parts[name].append(values.numpy()[:count])
            step += count
            if checkpoint_due(on_checkpoint, step, settings.checkpoint_every, settings.max_steps):
                on_checkpoint(
                    MacroState(
                        step=step,
                        logits=p_t.numpy(),
                        momentum=m_t.numpy(),
                        traces={name: np.concatenate(values) for name, values in parts.items()},
                    )
                )
                written.append(step)
            if progress is not None:
                last = parts["loss_pos"][-1][-1]
                progress.update(count, L_pos_max=float(last.max()), L_pos_min=float(last.min()))
        positive, negative, tv = (t.numpy() for t in self._evaluate(p_t, target, units_t))
        seconds = time.perf_counter() - started
        final = {"loss_pos": positive, "loss_neg": negative, "tv": tv}
        full = {name: np.concatenate([*parts[name], final[name][None]]) for name in parts}
        below = full["loss_pos"] < settings.threshold
        converged_step = np.where(below.any(axis=0), below.argmax(axis=0), -1).astype(np.int64)
        logits = p_t.numpy()
        return MacroResult(
            logits=logits,
            corners=self.corners(logits),
            loss_pos=full["loss_pos"],
            loss_neg=full["loss_neg"],
            loss_tv=full["tv"],
            converged=below[-1].copy(),
            converged_step=converged_step,
            steps_run=step,
            seconds=seconds,
            trace_seconds=trace_seconds,
            resumed_from=resumed_from,
            checkpoints_written=written,
        )


@dataclass(frozen=True)
class Sources:
    """What the macro attack starts from: ``images`` ``(K, H, W, C)`` in the model's pixel
    scale, and the tent ``weights`` ``(K, H, W)`` of the initial composite."""

    images: np.ndarray
    weights: np.ndarray


@dataclass
class MacroCollision(Collision):
    """:class:`MacroComposites`' result: the corners and the optimiser's record (``logits``)."""

    trace: MacroResult


class MacroComposites:
    """Macro-level corners: composites of real source images, an attack configured once.

    ``run(model, inputs, targets)`` optimises the control logits of
    ``settings.n_corners`` composites of the :class:`Sources` ``inputs``,
    started from their tent weights, to collide with the target image
    ``targets`` at ``model``'s layer. The run is resumable: ``resume``,
    ``on_checkpoint`` and ``progress`` as in :meth:`MacroCollisionFinder.find`.
    ``penalty`` (optional) adds ``penalty_weight`` times its value to the
    loss, as for :class:`fooled.attacks.corners.GradientCorners`.
    """

    State = MacroState  # what ``resume`` and ``on_checkpoint`` carry

    def __init__(
        self,
        settings: MacroSettings,
        penalty: Penalty | None = None,
        penalty_weight: float = 0.0,
    ) -> None:
        self.settings = settings
        self.penalty = penalty
        self.penalty_weight = float(penalty_weight)

    def run(
        self,
        model: ModelHandle,
        inputs: Sources,
        targets: np.ndarray,
        *,
        resume: MacroState | None = None,
        on_checkpoint: Callable[[MacroState], None] | None = None,
        progress: Progress | None = None,
    ) -> MacroCollision:
        view = target_view(model, targets, self.settings.n_corners)
        preact, preact_target = attacked_preact(
            model, view, self.penalty, self.penalty_weight, self.settings.w_pos
        )
        finder = MacroCollisionFinder(preact, inputs.images, chunk_steps=self.settings.chunk_steps)
        result = finder.find(
            initial_logits(inputs.weights),
            preact_target,
            view.units,
            self.settings,
            resume=resume,
            on_checkpoint=on_checkpoint,
            progress=progress,
        )
        return MacroCollision.evaluate(model, result.corners, view, result)


def weight_maps(logits: np.ndarray) -> dict[str, np.ndarray]:
    """Per corner and pixel: the largest control weight, its source and the weights' entropy."""
    logits = np.asarray(logits, np.float64)
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    weights = shifted / shifted.sum(axis=1, keepdims=True)
    entropy = -(weights * np.log(np.maximum(weights, 1e-30))).sum(axis=1)
    return {
        "weight_max": weights.max(axis=1).astype(np.float32),
        "weight_argmax": weights.argmax(axis=1).astype(np.int32),
        "weight_entropy": entropy.astype(np.float32),
    }


def top_sources(logits: np.ndarray, count: int) -> np.ndarray:
    """Per corner, the ``count`` sources with the largest total control weight ``(n, count)``."""
    logits = np.asarray(logits, np.float64)
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    totals = (shifted / shifted.sum(axis=1, keepdims=True)).sum(axis=(2, 3))
    return np.argsort(-totals, axis=1, kind="stable")[:, :count].astype(np.int64)


def result_datasets(
    result: MacroResult, weights: np.ndarray, source_images: np.ndarray, sources: np.ndarray
) -> dict[str, np.ndarray]:
    """The macro datasets of a collide artifact, beside :func:`collisions.corner_datasets`.

    ``initial_image`` is the composite the optimisation started from (the tent
    weights); the eight sources with most weight per corner are kept as stored
    (``source_images``), so the report can show what each corner is made of.
    """
    top = top_sources(result.logits, min(8, len(sources)))
    initial = composite_numpy(initial_logits(weights)[None], sources)[0]
    return {
        "loss_tv": result.loss_tv,
        "initial_image": initial.astype(np.float32),
        "top_sources": top,
        "top_source_images": source_images[top],
        **weight_maps(result.logits),
    }


def schedule_attrs(settings: MacroSettings) -> dict[str, Any]:
    """The optimiser's description in a collide artifact's attributes."""
    return {
        "optimizer": "ema",
        "learning_rate": float(max(settings.values)),
        "schedule": {"boundaries": list(settings.boundaries), "values": list(settings.values)},
    }

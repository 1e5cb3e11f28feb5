"""Targeted adversarial examples by box-constrained L-BFGS (Szegedy et al., 2014), batched.

For an image ``x`` in ``[0, 1]^n`` and a target label ``l`` the attack solves

    minimise  c * D(x' - x)**2 + CE(f(x'), l) [+ w * penalty(x')]   subject to  x' in [0, 1]^n

with box-constrained L-BFGS (``x' = x + r`` is the variable, the box its
bounds), where ``D(r) = sqrt(sum(r**2) / n)`` is the distortion the paper
reports and CE the classifier's cross-entropy to ``l``.

**Which norm.** The paper writes ``c |r|``. We use the squared distortion
``D(r)**2 = |r|_2**2 / n``: it is smooth (the plain L2 norm has a kink at
``r = 0``, exactly where every solve starts, and L-BFGS assumes a
differentiable objective), it is a monotone function of the reported
distortion, so the ``c`` search below still trades the same two quantities,
and dividing by ``n`` makes ``c`` independent of the image size. (Foolbox 2's
L-BFGS attack and Carlini & Wagner's re-implementation use the squared L2
distance too.)

**The c search.** Larger ``c`` weighs distortion more: the minimiser moves
less and at some point no longer reaches ``l``. The paper asks for the
minimal distortion that reaches ``l``, i.e. the *largest* ``c`` whose
minimiser is classified ``l`` (the paper's "minimum c" reads as the weight of
the loss term). Per image we keep ``lo`` (largest ``c`` that reached ``l``)
and ``hi`` (smallest ``c`` that did not): starting at ``c_initial``, ``c`` is
multiplied by ``c_factor`` after a success and divided by it after a failure
until both ends are known (a geometric bracket, clamped to ``[c_min,
c_max]``), then bisected geometrically, ``c = sqrt(lo * hi)``, for the
remaining of ``search_steps`` solves. The example returned is the successful
solve with the smallest distortion; an image whose bracket cannot move (a
success at ``c_max``, a failure at ``c_min``) stops early.

**Two solvers, one search.**

- ``batched`` (the default): every solve of every image is an independent
  problem in one of ``batch_size`` slots of :class:`BoxLBFGS`, which runs all
  slots through one TensorFlow gradient per iteration and refills a slot as
  soon as its problem stops (with the same image at its next ``c``, or the
  next image). Each problem keeps its own memory, line search and stopping
  test, so its result does not depend on its neighbours (module
  ``box_lbfgs``).
- ``scipy``: SciPy's L-BFGS-B, search step by search step, on chunks of
  ``batch_size`` images whose variables are concatenated and whose objectives
  are *summed* (each with its own ``c`` and target). The sum is separable and
  the box per pixel, so the minimisers are those of independent runs; the
  *path* is not: one line search sets one step length for the chunk, the
  quasi-Newton memory mixes the images' curvature, and the iteration limit and
  stopping tests apply to the chunk (measured: 6x the iterations of
  independent problems on 200 images). ``batch_size = 1`` is the plain
  one-image-at-a-time loop, the reference the tests and the benchmark
  compare the batched solver with (distortions agree to about 3e-4).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.optimize
import tensorflow as tf

from fooled.attacks.base import Penalty
from fooled.attacks.box_lbfgs import BoxLBFGS
from fooled.core.blas import single_threaded_blas
from fooled.core.settings import config_fields
from fooled.models.handle import ModelHandle

# Stopping tests besides the iteration limit, for both solvers: the projected gradient's
# largest entry, and the relative decrease of the objective (1e-6: about the float32
# resolution of the network's loss; at 1e-9 distortions moved by < 1e-4 relatively and
# solves ran 15% longer).
GRADIENT_TOLERANCE = 1e-5
OBJECTIVE_TOLERANCE = 1e-6
SOLVERS = ("batched", "scipy")
# Iterations the batched solver runs between refills of the slots whose problems stopped.
ITERATIONS_PER_CALL = 5


@dataclass(frozen=True)
class LBFGSSettings:
    """The attack's settings (config keys of the same names; every default is in the schema).

    ``c_*`` and ``search_steps`` define the ``c`` search (module docstring);
    ``max_iterations`` and ``memory`` are L-BFGS-B's ``maxiter`` and
    ``maxcor`` per solve; ``batch_size`` is the number of slots of the
    batched solver (images solved side by side) or, for ``solver = "scipy"``,
    the images concatenated into one L-BFGS-B problem; ``penalty_weight``
    multiplies the optional per-example penalty; ``jit_compile`` compiles the
    batched solver with XLA (about 3 s per model, then 1.5-2x faster).
    """

    c_initial: float
    c_factor: float
    c_min: float
    c_max: float
    search_steps: int
    max_iterations: int
    memory: int
    batch_size: int
    penalty_weight: float
    solver: str
    jit_compile: bool

    def __post_init__(self) -> None:
        if self.solver not in SOLVERS:
            raise ValueError(f"solver '{self.solver}' not one of {', '.join(SOLVERS)}")
        if not 0 < self.c_min <= self.c_initial <= self.c_max:
            raise ValueError(
                f"c bounds need 0 < c_min <= c_initial <= c_max, got {self.c_min}, "
                f"{self.c_initial}, {self.c_max}"
            )
        if self.c_factor <= 1:
            raise ValueError(f"c_factor must exceed 1, got {self.c_factor}")
        for name in ("search_steps", "max_iterations", "memory", "batch_size"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.penalty_weight < 0:
            raise ValueError(f"penalty_weight must be >= 0, got {self.penalty_weight}")

    @classmethod
    def from_config(cls, settings: Mapping[str, Any]) -> LBFGSSettings:
        """The settings of a config mapping (keys named as the fields; others ignored)."""
        return cls(**config_fields(cls, settings, "L-BFGS"))


@dataclass
class LBFGSResult:
    """Per image: the adversarial example found (the original where none was), and its record.

    ``distortion`` is ``sqrt(sum((x' - x)**2) / n)``, NaN where the attack
    failed; ``c`` the weight of the returned solve (NaN on failure);
    ``iterations`` the L-BFGS iterations of every solve the image took part
    in, ``evaluations`` their objective evaluations; ``solves`` how many
    ``c`` values were tried; ``predicted`` the model's class of the returned
    example.
    """

    adversarial: np.ndarray
    distortion: np.ndarray
    success: np.ndarray
    c: np.ndarray
    iterations: np.ndarray
    evaluations: np.ndarray
    solves: np.ndarray
    predicted: np.ndarray
    seconds: float

    def success_rate(self) -> float:
        return float(self.success.mean()) if len(self.success) else float("nan")

    def mean_distortion(self) -> float:
        """Mean minimal distortion over the successful examples (the paper's Table 1 column)."""
        return float(np.mean(self.distortion[self.success])) if self.success.any() else math.nan


def distortion(adversarial: np.ndarray, original: np.ndarray) -> np.ndarray:
    """The paper's distortion per example: ``sqrt(sum((x' - x)**2) / n)``, n pixels."""
    adversarial = np.asarray(adversarial, np.float64).reshape(len(adversarial), -1)
    original = np.asarray(original, np.float64).reshape(len(original), -1)
    return np.sqrt(np.mean(np.square(adversarial - original), axis=1))


def random_targets(labels: np.ndarray, n_classes: int, seed: int) -> np.ndarray:
    """A seeded random label other than the true one, uniform over the other classes."""
    labels = np.asarray(labels, np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"labels must lie in 0..{n_classes - 1}")
    shift = np.random.default_rng(seed).integers(1, n_classes, size=labels.shape)
    return (labels + shift) % n_classes


class _Objective:
    """Each image's objective and its gradient (rows independent), compiled once per model."""

    def __init__(self, model: ModelHandle, penalty: Penalty | None) -> None:
        def per_image(x, x0, targets, c, weight):
            with tf.GradientTape() as tape:
                tape.watch(x)
                logits = model.logits(x)
                cross_entropy = tf.nn.sparse_softmax_cross_entropy_with_logits(targets, logits)
                values = c * tf.reduce_mean(tf.square(x - x0), axis=1) + cross_entropy
                if penalty is not None:
                    values += weight * tf.reshape(penalty(x), [-1])
                total = tf.reduce_sum(values)
            # The sum is separable, so its gradient's row b is image b's own gradient.
            return values, tape.gradient(total, x)

        spec = tf.TensorSpec([None, model.input_size], tf.float32)
        self.per_image = per_image
        self.compiled = tf.function(
            per_image,
            input_signature=[
                spec,
                spec,
                tf.TensorSpec([None], tf.int32),
                tf.TensorSpec([None], tf.float32),
                tf.TensorSpec([], tf.float32),
            ],
            autograph=False,
        )
        self.solvers: dict[tuple[int, int, bool], BoxLBFGS] = {}

    def batched(self, memory: int, max_iterations: int, jit_compile: bool) -> BoxLBFGS:
        key = (memory, max_iterations, jit_compile)
        if key not in self.solvers:
            self.solvers[key] = BoxLBFGS(
                self.per_image,
                memory,
                max_iterations,
                gradient_tolerance=GRADIENT_TOLERANCE,
                objective_tolerance=OBJECTIVE_TOLERANCE,
                jit_compile=jit_compile,
            )
        return self.solvers[key]


class _Search:
    """Per image: the c bracket, the best success so far, and which c to try next."""

    def __init__(self, images: np.ndarray, targets: np.ndarray, settings: LBFGSSettings) -> None:
        n = len(images)
        self.settings = settings
        self.images = images
        self.targets = targets
        self.best = images.copy()
        self.best_distortion = np.full(n, np.inf)
        self.best_c = np.full(n, np.nan)
        self.success = np.zeros(n, bool)
        self.lo = np.full(n, np.nan)  # largest c that reached the target
        self.hi = np.full(n, np.nan)  # smallest c that did not
        self.c = np.full(n, float(settings.c_initial))
        self.iterations = np.zeros(n, np.int64)
        self.evaluations = np.zeros(n, np.int64)
        self.solves = np.zeros(n, np.int64)

    def record(
        self,
        index: np.ndarray,
        adversarial: np.ndarray,
        reached: np.ndarray,
        iterations: np.ndarray,
        evaluations: np.ndarray,
    ) -> None:
        """The solves of images ``index`` at their current ``c`` ended at ``adversarial``."""
        c = self.c[index]
        self.iterations[index] += iterations
        self.evaluations[index] += evaluations
        self.solves[index] += 1
        sizes = distortion(adversarial, self.images[index])
        better = reached & (sizes < self.best_distortion[index])
        self.best[index[better]] = adversarial[better]
        self.best_distortion[index[better]] = sizes[better]
        self.best_c[index[better]] = c[better]
        self.success[index] |= reached
        self.lo[index] = np.where(reached, np.fmax(self.lo[index], c), self.lo[index])
        self.hi[index] = np.where(reached, self.hi[index], np.fmin(self.hi[index], c))
        self.c[index] = self._following(index)

    def _following(self, index: np.ndarray) -> np.ndarray:
        """Bracket (multiply or divide by c_factor, clamped), then geometric bisection."""
        settings = self.settings
        lo, hi = self.lo[index], self.hi[index]
        has_lo, has_hi = ~np.isnan(lo), ~np.isnan(hi)
        grow = np.minimum(np.nan_to_num(lo) * settings.c_factor, settings.c_max)
        shrink = np.maximum(np.nan_to_num(hi, nan=1.0) / settings.c_factor, settings.c_min)
        middle = np.sqrt(np.nan_to_num(lo) * np.nan_to_num(hi))
        return np.where(has_lo & has_hi, middle, np.where(has_lo, grow, shrink))

    def wants_more(self, index: np.ndarray) -> np.ndarray:
        """Images with solves left whose bracket can still move."""
        settings = self.settings
        lo, hi = self.lo[index], self.hi[index]
        has_lo, has_hi = ~np.isnan(lo), ~np.isnan(hi)
        stuck = (has_lo & ~has_hi & (lo >= settings.c_max)) | (
            has_hi & ~has_lo & (hi <= settings.c_min)
        )
        return (self.solves[index] < settings.search_steps) & ~stuck


class LBFGSAttack:
    """Targeted L-BFGS adversarial examples with a per-image ``c`` search (module docstring).

    ``penalty`` (optional) maps a float32 batch ``(k, n_pixels)`` to one value
    per example, added to every objective with ``settings.penalty_weight``
    (the defences study's adaptive term: an autoencoder's reconstruction error).
    """

    def __init__(self, settings: LBFGSSettings, penalty: Penalty | None = None) -> None:
        self.settings = settings
        self.penalty = penalty

    def _check(self, model: ModelHandle, images: np.ndarray, targets: np.ndarray) -> None:
        if len(images) == 0:
            raise ValueError("no images to attack (an empty image list)")
        if len(targets) != len(images):
            raise ValueError(f"{len(images)} images but {len(targets)} target labels")
        bad = targets[(targets < 0) | (targets >= model.n_classes)]
        if bad.size:
            raise ValueError(
                f"target label {int(bad[0])} is outside the model's {model.n_classes} classes "
                f"(0..{model.n_classes - 1})"
            )
        if images.min() < 0 or images.max() > 1:
            raise ValueError(
                f"images must have pixels in [0, 1] (found {images.min():.3g}..{images.max():.3g})"
            )
        if images[0].size != model.input_size:
            raise ValueError(
                f"images have {images[0].size} pixels, the model takes {model.input_size}"
            )

    def run(self, model: ModelHandle, inputs: np.ndarray, targets: np.ndarray) -> LBFGSResult:
        """Adversarial examples of the images ``inputs`` (any shape, batch first) for labels
        ``targets``."""
        images = np.asarray(inputs, np.float32)
        targets = np.asarray(targets, np.int64).reshape(-1)
        self._check(model, images, targets)
        started = time.perf_counter()
        flat = images.reshape(len(images), -1)
        objective = model.compiled(
            ("lbfgs", id(self.penalty)), lambda: _Objective(model, self.penalty)
        )
        search = _Search(flat, targets, self.settings)
        if self.settings.solver == "scipy":
            self._run_scipy(model, objective, search)
        else:
            self._run_batched(model, objective, search)
        predicted = model.logits_numpy(search.best).argmax(axis=1)
        return LBFGSResult(
            adversarial=search.best.reshape(images.shape),
            distortion=np.where(search.success, search.best_distortion, np.nan),
            success=search.success,
            c=np.where(search.success, search.best_c, np.nan),
            iterations=search.iterations,
            evaluations=search.evaluations,
            solves=search.solves,
            predicted=predicted.astype(np.int64),
            seconds=time.perf_counter() - started,
        )

    # ------------------------------------------------------------------ batched slots

    def _run_batched(self, model: ModelHandle, objective: _Objective, search: _Search) -> None:
        """Every image's solves, one after another, in the slots of one :class:`BoxLBFGS`.

        A slot whose problem has stopped is refilled at once with the same
        image at its next ``c``, or with the next image waiting.
        """
        settings = self.settings
        n, size = search.images.shape
        slots = min(settings.batch_size, n)
        solver = objective.batched(settings.memory, settings.max_iterations, settings.jit_compile)
        state = solver.empty(slots, size)
        owner = np.full(slots, -1)  # image in each slot, -1 for none
        waiting = list(range(n))[::-1]
        x0 = np.zeros((slots, size), np.float32)
        target = np.zeros(slots, np.int32)
        weight = np.zeros(slots, np.float32)

        def fill(free: np.ndarray, state):
            chosen, images = [], []
            for slot in free:
                if not waiting:
                    break
                image = waiting.pop()
                owner[slot] = image
                chosen.append(slot)
                images.append(image)
            if chosen:
                x0[chosen] = search.images[images]
                target[chosen] = search.targets[images]
                weight[chosen] = search.c[images]
                state = solver.load(state, chosen, search.images[images])
            return state

        state = fill(np.arange(slots), state)
        penalty_weight = tf.constant(settings.penalty_weight, tf.float32)
        while (owner >= 0).any():
            arguments = (tf.constant(x0), tf.constant(target), tf.constant(weight), penalty_weight)
            state = solver.advance(state, ITERATIONS_PER_CALL, arguments)
            stopped = np.flatnonzero((owner >= 0) & ~state.running.numpy())
            if stopped.size == 0:
                continue
            index = owner[stopped]
            adversarial = np.clip(state.x.numpy()[stopped], 0.0, 1.0)
            reached = model.logits_numpy(adversarial).argmax(axis=1) == search.targets[index]
            iterations = state.iterations.numpy()[stopped].astype(np.int64)
            evaluations = state.evaluations.numpy()[stopped].astype(np.int64)
            search.record(index, adversarial, reached, iterations, evaluations)
            again = search.wants_more(index)
            owner[stopped[~again]] = -1  # those images are done
            # The same image again at its next c keeps its slot; freed slots take waiting images.
            repeat = stopped[again]
            if repeat.size:
                weight[repeat] = search.c[index[again]]
                state = solver.load(state, repeat, search.images[index[again]])
            state = fill(stopped[~again], state)

    # ------------------------------------------------------------------ SciPy reference

    def _run_scipy(self, model: ModelHandle, objective: _Objective, search: _Search) -> None:
        """SciPy's L-BFGS-B, step by step of the search, on chunks of ``batch_size`` images.

        A chunk's variables are concatenated and the *sum* of its objectives
        minimised (module docstring); ``batch_size = 1`` is the plain loop.
        """
        settings = self.settings
        n = len(search.images)
        active = np.ones(n, bool)
        while active.any():
            chosen = np.flatnonzero(active)
            for begin in range(0, chosen.size, settings.batch_size):
                part = chosen[begin : begin + settings.batch_size]
                adversarial, nit, nfev = self._solve_scipy(
                    objective, search.images[part], search.targets[part], search.c[part]
                )
                reached = model.logits_numpy(adversarial).argmax(axis=1) == search.targets[part]
                k = len(part)
                search.record(part, adversarial, reached, np.full(k, nit), np.full(k, nfev))
            active[chosen] = search.wants_more(chosen)

    def _solve_scipy(
        self,
        objective: _Objective,
        original: np.ndarray,
        targets: np.ndarray,
        c: np.ndarray,
    ) -> tuple[np.ndarray, int, int]:
        shape = original.shape
        arguments = (
            tf.constant(original, tf.float32),
            tf.constant(targets, tf.int32),
            tf.constant(c, tf.float32),
            tf.constant(self.settings.penalty_weight, tf.float32),
        )

        def fun(flat: np.ndarray) -> tuple[float, np.ndarray]:
            x = tf.constant(flat.reshape(shape), tf.float32)
            values, gradient = objective.compiled(x, *arguments)
            total = float(np.sum(values, dtype=np.float64))
            return total, np.asarray(gradient, np.float64).reshape(-1)

        with single_threaded_blas():
            result = scipy.optimize.minimize(
                fun,
                original.astype(np.float64).reshape(-1),
                jac=True,
                method="L-BFGS-B",
                bounds=scipy.optimize.Bounds(0.0, 1.0),
                options={
                    "maxiter": self.settings.max_iterations,
                    "maxcor": self.settings.memory,
                    "gtol": GRADIENT_TOLERANCE,
                    "ftol": OBJECTIVE_TOLERANCE,
                },
            )
        # L-BFGS-B keeps iterates in the box; clip only float64 -> float32 rounding.
        adversarial = np.clip(result.x.reshape(shape), 0.0, 1.0).astype(np.float32)
        return adversarial, int(result.nit), int(result.nfev)

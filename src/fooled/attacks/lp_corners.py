"""Exact collision polytopes of the first ReLU layer, by linear programming.

For a layer fed directly by the pixels, ``f0(x) = W^T x + b`` is affine, so the
paper's collision set around a target ``t`` (SPEC section 1) is *exactly* a
polytope::

    W_pos^T x + b_pos  = f0(t)_pos    (the target's units with f0(t) >= 0, psgn = 1)
    W_neg^T x + b_neg <= 0            (the target's units with f0(t) < 0)
    0 <= x <= 1                       (the pixel box)

Gradient descent on ``L_pos + L_neg^i`` only gets near it (``L_pos < 5``).
A linear program gets into it: minimising unit ``i``'s pre-activation over the
polytope ends at a vertex (an exact collision, the LP analogue of the paper's
"corner"), and every convex combination of such points is again in the
polytope, so interpolations are certified by construction, not by sampling.

Everything here but :class:`LPCorners` (the attack, which reads a model) is
plain NumPy/SciPy (``scipy.optimize.linprog`` with HiGHS); no TensorFlow,
Snakemake or file I/O, so it can be tested on a toy layer and reused by the
workflow script, the benchmark and the report alike. ``W`` is in
Keras' kernel layout: ``(inputs, units)``.

An LP that fails (infeasible target, time limit, numerical trouble) comes back
as an :class:`LPResult` with the solver's status and message and a NaN point,
never as an exception: one bad target must not stop a workflow run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.optimize import linprog

if TYPE_CHECKING:
    from fooled.attacks.corners import TargetView
    from fooled.models.handle import ModelHandle

# scipy.optimize.linprog's status codes, for messages and reports.
LP_STATUS = {
    0: "optimal",
    1: "iteration or time limit reached",
    2: "infeasible",
    3: "unbounded",
    4: "numerical difficulties",
}

MODES = ("vertex", "near_seed")


@dataclass(frozen=True)
class CollisionPolytope:
    """The LP data of one layer's collision polytope around one target.

    Built once per target and shared by every corner and pixel-range LP; all
    arrays are float64 so that the solver's tolerances (about 1e-9) are not
    swamped by float32 rounding of the weights.
    """

    weights: np.ndarray  # (d, N)
    bias: np.ndarray  # (N,)
    preact_target: np.ndarray  # (N,)
    positive: np.ndarray  # (N,) bool: psgn(f0(t)) = 1
    low: float = 0.0
    high: float = 1.0

    @classmethod
    def from_layer(
        cls,
        weights: np.ndarray,
        bias: np.ndarray,
        preact_target: np.ndarray,
        low: float = 0.0,
        high: float = 1.0,
    ) -> CollisionPolytope:
        """Validate shapes and split the target's units by ``psgn`` (``>= 0`` is positive)."""
        w = np.asarray(weights, dtype=np.float64)
        b = np.asarray(bias, dtype=np.float64).reshape(-1)
        target = np.asarray(preact_target, dtype=np.float64).reshape(-1)
        if w.ndim != 2 or w.shape[1] != b.size or target.size != b.size:
            raise ValueError(
                f"weights {w.shape}, bias {b.shape} and preact_target {target.shape} "
                "do not describe one layer (weights must be (inputs, units))"
            )
        if not (np.all(np.isfinite(w)) and np.all(np.isfinite(b)) and np.all(np.isfinite(target))):
            raise ValueError("weights, bias and preact_target must be finite")
        if not low < high:
            raise ValueError(f"pixel box [{low}, {high}] is empty")
        return cls(w, b, target, target >= 0, float(low), float(high))

    @property
    def n_inputs(self) -> int:
        return int(self.weights.shape[0])

    @property
    def negative_units(self) -> np.ndarray:
        return np.flatnonzero(~self.positive)

    def equalities(self) -> tuple[np.ndarray, np.ndarray]:
        """``A_eq x = b_eq``: the target's positive units keep their pre-activation."""
        return self.weights[:, self.positive].T, (self.preact_target - self.bias)[self.positive]

    def inequalities(self) -> tuple[np.ndarray, np.ndarray]:
        """``A_ub x <= b_ub``: the target's negative units stay non-positive."""
        return self.weights[:, ~self.positive].T, -self.bias[~self.positive]

    def preact(self, x: np.ndarray) -> np.ndarray:
        """``f0(x)`` in float64 for rows ``x`` (any shape ending in ``d`` values per row)."""
        flat = np.asarray(x, dtype=np.float64).reshape(-1, self.n_inputs)
        return flat @ self.weights + self.bias


@dataclass
class LPResult:
    """One LP's outcome. ``x`` is NaN unless ``success``; ``status`` is linprog's code."""

    x: np.ndarray
    success: bool
    status: int
    message: str
    objective: float  # unit i's pre-activation at x (vertex mode) or the LP's optimum
    seconds: float
    unit: int = -1
    mode: str = "vertex"


def _solve(
    cost: np.ndarray,
    a_ub: np.ndarray | None,
    b_ub: np.ndarray | None,
    a_eq: np.ndarray | None,
    b_eq: np.ndarray | None,
    bounds: np.ndarray | tuple[float, float],
    time_limit: float | None,
) -> tuple[object, float]:
    """linprog with HiGHS (dual simplex by default: measured faster than IPM here, ~0.2 s)."""
    options: dict[str, float] = {}
    if time_limit is not None:
        options["time_limit"] = float(time_limit)
    # linprog rejects empty constraint blocks in some SciPy versions; pass None instead.
    if a_ub is not None and a_ub.shape[0] == 0:
        a_ub, b_ub = None, None
    if a_eq is not None and a_eq.shape[0] == 0:
        a_eq, b_eq = None, None
    started = time.perf_counter()
    result = linprog(
        cost,
        A_ub=a_ub,
        b_ub=b_ub,
        A_eq=a_eq,
        b_eq=b_eq,
        bounds=bounds,
        method="highs",
        options=options,
    )
    return result, time.perf_counter() - started


def _message(result: object) -> str:
    status = int(getattr(result, "status", -1))
    text = " ".join(str(getattr(result, "message", "")).split())
    return text or LP_STATUS.get(status, "unknown status")


def lp_corner(
    weights: np.ndarray | CollisionPolytope,
    bias: np.ndarray | None = None,
    preact_target: np.ndarray | None = None,
    unit: int = 0,
    seed: np.ndarray | None = None,
    *,
    unit_weight: float = 1.0,
    time_limit: float | None = None,
) -> LPResult:
    """An exact collision for target negative unit ``unit``, by one LP.

    Without ``seed`` (mode ``vertex``): minimise ``f0(x)_unit`` over the
    polytope. HiGHS' simplex returns a basic optimal solution, i.e. a vertex:
    the exact counterpart of the paper's corner ``i``, which drives unit ``i``
    down while every constraint holds. Different units give different vertices.

    With ``seed`` (mode ``near_seed``): minimise ``||x - seed||_1 +
    unit_weight * f0(x)_unit`` over the polytope. The L1 distance is linear
    after splitting ``x = seed + p - q`` with ``0 <= p <= high - seed`` and
    ``0 <= q <= seed - low``; this adds no constraint rows. At an optimum
    ``min(p_k, q_k) = 0`` for every pixel, whatever ``unit_weight``: the
    costs of ``p_k`` and ``q_k`` sum to 2, so lowering both by their minimum
    keeps ``x`` and strictly lowers the cost. Hence ``sum(p + q)`` is exactly
    ``||x - seed||_1``.

    With ``unit_weight = 0`` every unit gives the *same* point (the L1-closest
    collision to the seed), so a small weight is kept on unit ``i``. On the
    trained MNIST layer (paper_3_to_7), 1.0 moves the L1 distance by under
    0.5% (137.4 -> 137.6) while spreading the corners about 1.9 apart in L2,
    so they still look like the seed but differ per unit (0.1 gave 0.28, 10
    gave 8.5 at L1 160-180). The optimum is a vertex of the lifted LP and an
    exact collision, though not necessarily a vertex of the polytope itself.

    ``unit`` must be one of the target's negative units (a positive unit's
    pre-activation is fixed by the equalities, so there is nothing to
    minimise). ``weights`` may instead be a prepared :class:`CollisionPolytope`
    (then ``bias`` and ``preact_target`` are ignored), which saves rebuilding
    the constraint matrices for every corner.
    """
    polytope = _as_polytope(weights, bias, preact_target)
    unit = int(unit)
    if not 0 <= unit < polytope.bias.size:
        raise ValueError(f"unit {unit} is out of range for a layer of {polytope.bias.size} units")
    if polytope.positive[unit]:
        raise ValueError(
            f"unit {unit} is not one of the target's negative units "
            f"(f0(t)_{unit} = {polytope.preact_target[unit]:.4g} >= 0)"
        )
    a_eq, b_eq = polytope.equalities()
    a_ub, b_ub = polytope.inequalities()
    direction = polytope.weights[:, unit]
    d = polytope.n_inputs
    if seed is None:
        result, seconds = _solve(
            direction, a_ub, b_ub, a_eq, b_eq, (polytope.low, polytope.high), time_limit
        )
        x = np.asarray(result.x, np.float64) if result.x is not None else None
        mode = "vertex"
    else:
        s = np.asarray(seed, dtype=np.float64).reshape(-1)
        if s.size != d:
            raise ValueError(f"seed has {s.size} values, the layer takes {d}")
        s = np.clip(s, polytope.low, polytope.high)
        cost = np.concatenate([1.0 + unit_weight * direction, 1.0 - unit_weight * direction])
        bounds = np.concatenate(
            [
                np.stack([np.zeros(d), polytope.high - s], axis=1),
                np.stack([np.zeros(d), s - polytope.low], axis=1),
            ]
        )
        lifted_eq = np.hstack([a_eq, -a_eq])
        lifted_ub = np.hstack([a_ub, -a_ub])
        result, seconds = _solve(
            cost,
            lifted_ub,
            b_ub - a_ub @ s,
            lifted_eq,
            b_eq - a_eq @ s,
            bounds,
            time_limit,
        )
        x = s + result.x[:d] - result.x[d:] if result.x is not None else None
        mode = "near_seed"
    status = int(result.status)
    success = bool(status == 0 and x is not None)
    if success:
        x = np.clip(x, polytope.low, polytope.high)  # solver round-off at the box, ~1e-12
        objective = float(x @ direction + polytope.bias[unit])
    else:
        x = np.full(d, np.nan)
        objective = float("nan")
    return LPResult(x, success, status, _message(result), objective, seconds, unit, mode)


def lp_corners(
    polytope: CollisionPolytope,
    units: Sequence[int],
    seed: np.ndarray | None = None,
    *,
    unit_weight: float = 1.0,
    time_limit: float | None = None,
) -> list[LPResult]:
    """One :func:`lp_corner` per unit, sharing the constraint matrices."""
    return [
        lp_corner(polytope, unit=u, seed=seed, unit_weight=unit_weight, time_limit=time_limit)
        for u in units
    ]


def _as_polytope(
    weights: np.ndarray | CollisionPolytope,
    bias: np.ndarray | None,
    preact_target: np.ndarray | None,
) -> CollisionPolytope:
    if isinstance(weights, CollisionPolytope):
        return weights
    if bias is None or preact_target is None:
        raise ValueError("bias and preact_target are required unless a CollisionPolytope is given")
    return CollisionPolytope.from_layer(weights, bias, preact_target)


# --------------------------------------------------------------------------
# Size of the polytope
# --------------------------------------------------------------------------


def positive_rank(
    weights: np.ndarray | CollisionPolytope,
    preact_target: np.ndarray | None = None,
    tol: float | None = None,
) -> int:
    """Rank of ``W_pos`` (the equality rows); the polytope lies in a ``d - rank`` flat.

    ``tol`` is numpy's singular-value threshold (default: its float64 rule).
    """
    if isinstance(weights, CollisionPolytope):
        w_pos = weights.weights[:, weights.positive]
    else:
        if preact_target is None:
            raise ValueError("preact_target is required unless a CollisionPolytope is given")
        positive = np.asarray(preact_target).reshape(-1) >= 0
        w_pos = np.asarray(weights, dtype=np.float64)[:, positive]
    if w_pos.shape[1] == 0:
        return 0
    return int(np.linalg.matrix_rank(w_pos, tol=tol))


@dataclass
class PixelRange:
    """Smallest and largest value pixel ``index`` takes over the polytope (NaN if the LP failed)."""

    index: int
    low: float
    high: float
    status_low: int
    status_high: int
    seconds: float


def pixel_range(
    polytope: CollisionPolytope, index: int, *, time_limit: float | None = None
) -> PixelRange:
    """Two LPs: ``min x_p`` and ``max x_p`` subject to the collision constraints."""
    d = polytope.n_inputs
    if not 0 <= int(index) < d:
        raise ValueError(f"pixel {index} is out of range for {d} inputs")
    a_eq, b_eq = polytope.equalities()
    a_ub, b_ub = polytope.inequalities()
    cost = np.zeros(d)
    values, statuses, seconds = [], [], 0.0
    for sign in (1.0, -1.0):
        cost[int(index)] = sign
        result, took = _solve(
            cost, a_ub, b_ub, a_eq, b_eq, (polytope.low, polytope.high), time_limit
        )
        seconds += took
        statuses.append(int(result.status))
        values.append(sign * float(result.fun) if result.status == 0 else float("nan"))
    return PixelRange(int(index), values[0], values[1], statuses[0], statuses[1], seconds)


# --------------------------------------------------------------------------
# Certification
# --------------------------------------------------------------------------


@dataclass
class Certificate:
    """Per point (row) checks that it is an exact collision, and what each check measured.

    ``exact``: the float64 layer check (equalities, half-spaces, pixel box)
    holds within ``tol``. ``certified``: ``exact`` and, when the model's
    activations were given, every later activation within tolerance and the
    target's class kept. Checks that were not run read NaN (errors) or False.
    """

    max_equality_error: np.ndarray  # max |f0(x)_pos - f0(t)_pos|
    max_negative_preact: np.ndarray  # max f0(x)_neg (certified: <= tol)
    box_violation: np.ndarray  # how far x leaves [low, high]
    post_activation_error: np.ndarray  # max |relu(f0(x)) - relu(f0(t))|, float64
    downstream_error: np.ndarray  # max relative error over the model's later activations
    predicted: np.ndarray  # model's class, -1 when not checked
    class_preserved: np.ndarray
    exact: np.ndarray
    certified: np.ndarray
    tol: float
    downstream_checked: bool


def certify(
    weights: np.ndarray | CollisionPolytope,
    bias: np.ndarray | None,
    preact_target: np.ndarray | None,
    x: np.ndarray,
    *,
    activations: Callable[[np.ndarray], Sequence[np.ndarray]] | None = None,
    target: np.ndarray | None = None,
    target_class: int | None = None,
    tol: float = 1e-4,
) -> Certificate:
    """Check that each row of ``x`` is an exact collision with the target.

    The layer check is done in float64 from ``W`` and ``b``: largest equality
    error on the target's positive units, largest pre-activation on its
    negative units (must be ``<= tol``), and the pixel box. ``tol`` absorbs
    the float32 storage of the points (about 1e-6 on the MNIST layer), not
    the approximation of a gradient corner (``L_pos < 5`` leaves errors near 1).

    ``activations``, when given, maps float32 input rows to the model's
    activations of the layer's ReLU output and every later layer, the last
    being the class probabilities (or logits); they are compared with the
    same activations of ``target`` (relative error ``|a - r| / (1 + |r|)``
    at most ``tol``) and the predicted class with ``target_class`` (default:
    the target's own prediction). This is the end-to-end claim of the paper,
    checked through the real (float32) network.
    """
    polytope = _as_polytope(weights, bias, preact_target)
    flat = np.asarray(x, dtype=np.float64).reshape(-1, polytope.n_inputs)
    n = flat.shape[0]
    preact = polytope.preact(flat)
    target_preact = polytope.preact_target
    positive = polytope.positive
    with np.errstate(invalid="ignore"):
        eq_error = _row_max(np.abs(preact[:, positive] - target_preact[positive]), n)
        neg_max = _row_max(preact[:, ~positive], n, empty=-np.inf)
        box = _row_max(np.maximum(np.maximum(polytope.low - flat, flat - polytope.high), 0.0), n)
        post = _row_max(np.abs(np.maximum(preact, 0.0) - np.maximum(target_preact, 0.0)), n)
        exact = (eq_error <= tol) & (neg_max <= tol) & (box <= tol)

    downstream = np.full(n, np.nan)
    predicted = np.full(n, -1, dtype=np.int64)
    preserved = np.zeros(n, dtype=bool)
    checked = activations is not None
    if checked:
        if target is None:
            raise ValueError("target (the target input) is required to compare activations")
        reference = [np.asarray(a, np.float64) for a in activations(_rows32(target, polytope))]
        finite = np.all(np.isfinite(flat), axis=1)
        if finite.any():
            layers = [
                np.asarray(a, np.float64) for a in activations(_rows32(flat[finite], polytope))
            ]
            if len(layers) != len(reference) or not layers:
                raise ValueError("activations returned a different number of layers for target")
            errors = np.zeros(int(finite.sum()))
            for got, ref in zip(layers, reference, strict=True):
                relative = np.abs(got - ref) / (1.0 + np.abs(ref))
                errors = np.maximum(errors, relative.reshape(len(errors), -1).max(axis=1))
            downstream[finite] = errors
            predicted[finite] = layers[-1].reshape(len(errors), -1).argmax(axis=1)
        wanted = (
            int(reference[-1].reshape(-1).argmax()) if target_class is None else int(target_class)
        )
        preserved = predicted == wanted
        with np.errstate(invalid="ignore"):
            certified = exact & (downstream <= tol) & preserved
    else:
        certified = exact.copy()
    return Certificate(
        max_equality_error=eq_error,
        max_negative_preact=neg_max,
        box_violation=box,
        post_activation_error=post,
        downstream_error=downstream,
        predicted=predicted,
        class_preserved=preserved,
        exact=exact,
        certified=certified,
        tol=float(tol),
        downstream_checked=checked,
    )


def _row_max(values: np.ndarray, n: int, empty: float = 0.0) -> np.ndarray:
    """Row maxima that propagate NaN (a failed LP's NaN point must never certify)."""
    if values.shape[1] == 0:
        return np.full(n, empty)
    return np.max(values, axis=1)


def _rows32(x: np.ndarray, polytope: CollisionPolytope) -> np.ndarray:
    return np.asarray(x, dtype=np.float32).reshape(-1, polytope.n_inputs)


@dataclass(frozen=True)
class LPSettings:
    """How the LP corners are chosen (config keys of the same names; defaults in the schema)."""

    mode: str
    unit_weight: float
    time_limit_seconds: float | None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"LP mode '{self.mode}' not one of {', '.join(MODES)}")

    @classmethod
    def from_config(cls, settings: Mapping[str, Any]) -> LPSettings:
        return cls(
            mode=str(settings["mode"]),
            unit_weight=float(settings["unit_weight"]),
            time_limit_seconds=settings["time_limit_seconds"],
        )


@dataclass
class LPCollision:
    """:class:`LPCorners`' result: one LP per unit of ``target.units``.

    ``corners`` ``(n, *seed shape)`` are the LP points in order (NaN where an
    LP failed: ``results[i].success``); ``polytope`` is the LP data they
    satisfy, ``target`` the model's view of the target; ``seconds`` sums the
    LPs' solver times.
    """

    corners: np.ndarray
    results: list[LPResult]
    polytope: CollisionPolytope
    target: TargetView
    seconds: float


class LPCorners:
    """Exact corners of the first layer's collision polytope: an attack configured once.

    ``run(model, inputs, targets)`` reads the layer's kernel and bias from
    ``model`` (a :class:`fooled.models.handle.ModelHandle` seen at a layer fed
    by the pixels), takes the target image ``targets``'s pre-activation and
    its first ``n_corners`` negative units (the paper's choice, as the
    gradient corners), and solves one LP per unit; the seed image ``inputs``
    is used in ``near_seed`` mode only.
    """

    def __init__(self, settings: LPSettings, n_corners: int) -> None:
        self.settings = settings
        self.n_corners = int(n_corners)

    def polytope(self, model: ModelHandle, preact_target: np.ndarray) -> CollisionPolytope:
        kernel, bias = model.layer_weights()[:2]
        if kernel.ndim != 2 or kernel.shape[0] != model.input_size:
            raise ValueError(
                f"layer '{model.layer}' takes {kernel.shape[0]} inputs, not the "
                f"{model.input_size} pixels: the exact polytope needs a layer that is affine "
                "in the pixels (the first hidden layer)"
            )
        return CollisionPolytope.from_layer(kernel, bias, preact_target)

    def run(self, model: ModelHandle, inputs: np.ndarray, targets: np.ndarray) -> LPCollision:
        # The model's view of the target is the gradient corners' (TensorFlow, imported here
        # so that this module's LP functions stay NumPy and SciPy only).
        from fooled.attacks.corners import target_view

        view = target_view(model, targets, self.n_corners)
        polytope = self.polytope(model, view.preact)
        seed = np.asarray(inputs)
        results = lp_corners(
            polytope,
            view.units,
            seed=seed.reshape(-1) if self.settings.mode == "near_seed" else None,
            unit_weight=float(self.settings.unit_weight),
            time_limit=self.settings.time_limit_seconds,
        )
        return LPCollision(
            corners=np.stack([r.x for r in results]).reshape(-1, *seed.shape),
            results=results,
            polytope=polytope,
            target=view,
            seconds=float(sum(r.seconds for r in results)),
        )

"""Attacks that also minimise the detector's score: where does detection break?

An adaptive attack adds ``weight * R(x)`` to the loss it minimises (``R``: the
autoencoder's per-image reconstruction error, :class:`ReconstructionError`),
so its inputs must fool the classifier *and* look like digits to the
autoencoder.

- FGSM: :class:`fooled.attacks.fgsm.FGSM` takes the penalty itself (the sign
  of the gradient of ``J(x, y) - weight * R(x)``): :func:`adaptive_fgsm`.
- Collision corners (micro and macro level), without changing
  ``fooled.attacks.corners`` or ``composites``: their loss reaches the model
  only through ``model.preact``, so :class:`PenalisedHandle` gives the
  pre-activation one more unit, ``sqrt(weight / w_pos * R(x))``, whose target
  value is 0. ``L_pos`` sums squared differences over the target's
  non-negative units, this one included, so ``w_pos * L_pos`` gains exactly
  ``weight * R(x)``: :func:`adaptive_corners`. The one side effect: a corner
  stops when ``L_pos + weight / w_pos * R(x)`` is below the threshold, which
  is stricter than the plain criterion; the true ``L_pos`` is recomputed.
  The change that would make this trick unnecessary is described in
  ``docs/studies/defences.md`` ("Adaptive collision corners").
- L-BFGS (Szegedy study), gradient ascent and evolution (fooling study): the
  hook contract in :data:`HOOKS`. An attack takes the term when its ``run``
  accepts ``penalty=`` (a per-image TensorFlow callable; a NumPy one for
  evolution) and its settings a ``penalty_weight``; :func:`hook_status` says,
  for the attacks present in this checkout, whether they do.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import tensorflow as tf

from fooled.attacks.collision_losses import loss_pos
from fooled.attacks.corners import Collision, CornerSettings, GradientCorners
from fooled.attacks.fgsm import FGSM, FGSMResult, FGSMSettings
from fooled.models.handle import ModelHandle

Penalty = Callable[[tf.Tensor], tf.Tensor]
SQRT_FLOOR = 1e-12  # keeps the extra unit's gradient finite where the penalty is 0


def adaptive_fgsm(
    model: ModelHandle,
    images: np.ndarray,
    labels: np.ndarray,
    settings: FGSMSettings,
    penalty: Penalty,
    weight: float,
) -> FGSMResult:
    """FGSM (same epsilons and steps) on ``J(x, y) - weight * penalty(x)``."""
    return FGSM(replace(settings, penalty_weight=float(weight))).run(
        model, images, labels, penalty=penalty
    )


class PenalisedHandle:
    """A :class:`ModelHandle` seen by a collision attack with the penalty as one more unit.

    ``preact`` (the TensorFlow callable the attacks optimise through) appends
    ``sqrt(scale * penalty(x))``; ``preact_numpy`` (what the attacks read the
    target's pre-activation and the corners' from) appends 0, the value the
    extra unit is pulled to. Everything else is the wrapped handle's.

    ``scale`` is a variable read inside the attacks' compiled graphs, so a
    sweep over weights (:meth:`set_scale`) compiles each attack once.
    """

    def __init__(self, model: ModelHandle, penalty: Penalty, scale: float = 0.0) -> None:
        if model.layer is None:
            raise ValueError("a collision attack needs a handle seen at a layer")
        self.base = model
        self.penalty = penalty
        self.scale = tf.Variable(float(scale), trainable=False, dtype=tf.float32)
        self.layer = model.layer
        self.model = model.model
        self.input_shape = model.input_shape
        self.input_size = model.input_size
        self.n_classes = model.n_classes
        self.n_units = model.n_units + 1
        self._compiled: dict[Any, Any] = {}

    def set_scale(self, scale: float) -> None:
        self.scale.assign(float(scale))

    def preact(self, x: tf.Tensor) -> tf.Tensor:
        base = self.base.preact(x)
        value = self.scale * tf.maximum(self.penalty(x), 0.0) + SQRT_FLOOR
        return tf.concat([base, tf.sqrt(value)[:, None]], axis=1)

    def preact_numpy(self, x: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        base = self.base.preact_numpy(x, batch_size)
        return np.concatenate([base, np.zeros((len(base), 1), base.dtype)], axis=1)

    def logits(self, x: tf.Tensor) -> tf.Tensor:
        return self.base.logits(x)

    def probabilities(self, x: tf.Tensor) -> tf.Tensor:
        return self.base.probabilities(x)

    def logits_numpy(self, x: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        return self.base.logits_numpy(x, batch_size)

    def probabilities_numpy(self, x: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        return self.base.probabilities_numpy(x, batch_size)

    def compiled(self, key: Any, build: Callable[[], Any]) -> Any:
        if key not in self._compiled:
            self._compiled[key] = build()
        return self._compiled[key]


@dataclass
class AdaptiveCorners:
    """Corners found with the penalty, re-measured on the plain model.

    ``loss_pos`` is the true ``L_pos`` of each corner (penalty excluded),
    ``collided`` whether it is below the threshold, ``penalty`` the detector's
    score of each corner, ``probabilities`` the classifier's view.
    """

    corners: np.ndarray
    negative_units: np.ndarray
    loss_pos: np.ndarray
    collided: np.ndarray
    penalty: np.ndarray
    probabilities: np.ndarray
    target_class: int
    steps_run: int
    seconds: float


def remeasure(
    model: ModelHandle,
    collision: Collision,
    target: np.ndarray,
    threshold: float,
    score: Callable[[np.ndarray], np.ndarray],
) -> AdaptiveCorners:
    """The adaptive corners as the plain model and the detector see them."""
    corners = collision.corners
    preact_target = model.preact_numpy(np.asarray(target, np.float32)[None])[0]
    preact_corners = model.preact_numpy(corners)
    true_pos = loss_pos(tf.constant(preact_corners), tf.constant(preact_target)).numpy()
    probabilities = model.probabilities_numpy(corners)
    target_class = int(model.probabilities_numpy(np.asarray(target, np.float32)[None])[0].argmax())
    return AdaptiveCorners(
        corners=np.asarray(corners, np.float32),
        negative_units=np.asarray(collision.target.units, np.int64),
        loss_pos=true_pos.astype(np.float32),
        collided=true_pos < threshold,
        penalty=score(corners),
        probabilities=probabilities.astype(np.float32),
        target_class=target_class,
        steps_run=int(collision.trace.steps_run),
        seconds=float(collision.trace.seconds),
    )


def adaptive_corners(
    penalised: PenalisedHandle,
    seed: np.ndarray,
    target: np.ndarray,
    settings: CornerSettings,
    weight: float,
    score: Callable[[np.ndarray], np.ndarray],
) -> AdaptiveCorners:
    """Micro-level corners from ``seed`` colliding with ``target``, ``weight * R`` in the loss.

    ``penalised`` wraps the model (seen at the experiment's layer) and the
    penalty; one per layer serves every experiment and weight.
    """
    penalised.set_scale(weight / settings.w_pos)
    collision = GradientCorners(settings).run(penalised, seed, target)
    return remeasure(penalised.base, collision, target, settings.threshold, score)


def adaptive_macro_corners(
    penalised: PenalisedHandle,
    sources: np.ndarray,
    weights: np.ndarray,
    target: np.ndarray,
    settings: Any,
    weight: float,
    score: Callable[[np.ndarray], np.ndarray],
) -> AdaptiveCorners:
    """Macro-level composites (``settings``: ``MacroSettings``), ``weight * R`` in the loss."""
    from fooled.attacks.composites import MacroComposites

    penalised.set_scale(weight / settings.w_pos)
    collision = MacroComposites(settings).run(penalised, sources, weights, target)
    return remeasure(penalised.base, collision, target, settings.threshold, score)


# ----------------------------------------------------------------------------- hooks


@dataclass(frozen=True)
class Hook:
    """Where an attack of another study lives, and how it takes the detector's term."""

    attack: str
    study: str
    module: str
    contract: str


HOOKS: tuple[Hook, ...] = (
    Hook(
        "lbfgs",
        "szegedy",
        "fooled.attacks.lbfgs",
        "LBFGSAttack(settings, penalty=R).run(model, images, targets) minimises "
        "c |r|^2 + loss_f(x + r, l) + settings.penalty_weight * R(x + r)",
    ),
    Hook(
        "ascent",
        "fooling",
        "fooled.attacks.ascent",
        "GradientAscent(settings).run(model, ..., penalty=R) ascends "
        "score_c(x) - settings.penalty_weight * R(x)",
    ),
    Hook(
        "evolve",
        "fooling",
        "fooled.attacks.evolution",
        "MapElites(settings).run(model, seed=..., penalty=R) uses the fitness "
        "p_c(x) - settings.penalty_weight * R(x)",
    ),
    Hook(
        "collisions",
        "collisions_mnist",
        "fooled.attacks.corners",
        "GradientCorners / MacroComposites through PenalisedHandle (no change needed)",
    ),
)


def accepts_penalty(attack_class: type) -> bool:
    """Whether an attack class takes a ``penalty`` argument (in ``run`` or its constructor)."""
    methods = [getattr(attack_class, name, None) for name in ("run", "__init__")]
    return any(
        method is not None and "penalty" in inspect.signature(method).parameters
        for method in methods
    )


def hook_status(hook: Hook) -> str:
    """``ready`` when the module has an attack whose ``run`` takes ``penalty``; else why not."""
    if hook.attack == "collisions":
        return "ready"
    try:
        module = importlib.import_module(hook.module)
    except ImportError:
        return f"not in this checkout ({hook.module}, {hook.study} study)"
    attacks = [
        value
        for value in vars(module).values()
        if inspect.isclass(value) and value.__module__ == module.__name__ and hasattr(value, "run")
    ]
    if any(accepts_penalty(attack) for attack in attacks):
        return "ready"
    return f"{hook.module}: no attack takes penalty= yet"

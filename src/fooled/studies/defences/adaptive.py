"""Attacks that also minimise the detector's score: where does detection break?

An adaptive attack adds ``weight * R(x)`` to the loss it minimises (``R``: the
autoencoder's per-image reconstruction error, :class:`ReconstructionError`),
so its inputs must fool the classifier *and* look like digits to the
autoencoder. Every attack takes such a penalty at construction
(:mod:`fooled.attacks.base`); nothing here changes an attack:

- FGSM: ``FGSM(settings, penalty=R)`` with ``settings.penalty_weight = weight``
  (the sign of the gradient of ``J(x, y) - weight * R(x)``).
- Collision corners (micro and macro level): ``GradientCorners(settings,
  penalty=R, penalty_weight=weight)`` (and ``MacroComposites``), whose losses
  reach the model only through its pre-activation, which gains one unit,
  ``sqrt(weight / w_pos * R(x))``, whose target value is 0
  (:class:`fooled.attacks.corners.PenaltyUnit`): ``w_pos * L_pos`` gains
  exactly ``weight * R(x)``. The one side effect: a corner stops when
  ``L_pos + weight / w_pos * R(x)`` is below the threshold, which is stricter
  than the plain criterion; the true ``L_pos`` is recomputed (:func:`remeasure`).
- L-BFGS (Szegedy study), gradient ascent and evolution (fooling study): the
  hook contract in :data:`HOOKS`. An attack takes the term when its
  constructor accepts ``penalty=`` (a per-image TensorFlow callable) and its
  settings a ``penalty_weight``; :func:`hook_status` says, for the attacks
  present in this checkout, whether they do.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from fooled.attacks.base import Penalty
from fooled.attacks.collision_losses import loss_pos
from fooled.attacks.composites import MacroComposites, MacroSettings, Sources
from fooled.attacks.corners import Collision, CornerSettings, GradientCorners
from fooled.models.handle import ModelHandle


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
    model: ModelHandle,
    seed: np.ndarray,
    target: np.ndarray,
    settings: CornerSettings,
    penalty: Penalty,
    weight: float,
    score: Callable[[np.ndarray], np.ndarray],
) -> AdaptiveCorners:
    """Micro-level corners from ``seed`` colliding with ``target``, ``weight * R`` in the loss.

    ``model`` is seen at the experiment's layer; its compiled attack serves
    every experiment and weight of that layer.
    """
    attack = GradientCorners(settings, penalty=penalty, penalty_weight=weight)
    return remeasure(model, attack.run(model, seed, target), target, settings.threshold, score)


def adaptive_macro_corners(
    model: ModelHandle,
    sources: Sources,
    target: np.ndarray,
    settings: MacroSettings,
    penalty: Penalty,
    weight: float,
    score: Callable[[np.ndarray], np.ndarray],
) -> AdaptiveCorners:
    """Macro-level composites of ``sources``, ``weight * R`` in the loss."""
    attack = MacroComposites(settings, penalty=penalty, penalty_weight=weight)
    return remeasure(model, attack.run(model, sources, target), target, settings.threshold, score)


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
        "GradientAscent(settings, ..., penalty=R).run(model, starts, targets) ascends "
        "score_c(x) - settings.penalty_weight * R(x)",
    ),
    Hook(
        "evolve",
        "fooling",
        "fooled.attacks.evolution",
        "MapElites(settings, encoding, ..., penalty=R).run(model, seed, classes) uses the "
        "fitness p_c(x) - settings.penalty_weight * R(x)",
    ),
    Hook(
        "collisions",
        "collisions_mnist",
        "fooled.attacks.corners",
        "GradientCorners(settings, penalty=R, penalty_weight=w) (and MacroComposites) adds "
        "w * R(x) to w_pos * L_pos through one more pre-activation unit",
    ),
)


def accepts_penalty(attack_class: type) -> bool:
    """Whether an attack class takes a ``penalty`` argument at construction (the contract)."""
    return "penalty" in inspect.signature(attack_class.__init__).parameters


def hook_status(hook: Hook) -> str:
    """``ready`` when the module has an attack that takes ``penalty``; else why not."""
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

"""Projected gradient descent in L-infinity (Madry et al. 2018), with an optional penalty.

From a random start in the ``eps`` box around each image (uniform, seeded), ``steps``
signed gradient steps of ``step_size`` on the cross-entropy of the true label, each
projected back onto the ``eps`` box and the pixel box; ``restarts`` independent starts,
keeping per image the one that fools the model (else the one with the largest loss).
FGSM is the special case of one step of size ``eps`` from the image itself: a defence
tested against FGSM alone can mask the gradient at the image without removing nearby
adversarial examples, which the random start and the many steps find.

The step, the penalty (``J - penalty_weight * P``, e.g. an autoencoder's reconstruction
error: the adaptive attack on a detector) and ``gradient`` (``exact`` or ``float32``) are
FGSM's: :mod:`fooled.attacks.fgsm` documents them and both compile the same loop.

``MADRY_MNIST`` is the MNIST adversary of Madry et al. (section 5 and their MNIST challenge:
eps 0.3, 40 steps of 0.01 from a random start), a preset for :meth:`PGDSettings.preset`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import tensorflow as tf

from fooled.attacks.fgsm import GRADIENTS, FGSMResult, SignStepAttack, scored_result
from fooled.core.settings import config_fields
from fooled.models.handle import ModelHandle

MADRY_MNIST: dict[str, Any] = {
    "epsilons": (0.3,),
    "steps": 40,
    "step_size": 0.01,
    "restarts": 1,
    "random_start": True,
}
PRESETS: dict[str, dict[str, Any]] = {"madry_mnist": MADRY_MNIST}


@dataclass(frozen=True)
class PGDSettings:
    """The attack's settings (config keys of the same names).

    ``epsilons``: the L-infinity sizes to attack at (pixels in [0, 1]).
    ``steps``, ``step_size``: the signed steps per start and their size (pixels).
    ``restarts``: independent starts per image (the best one is kept).
    ``random_start``: start uniformly in the ``eps`` box (else at the image itself).
    ``seed``: seeds the starts.
    ``batch_size``: images per compiled pass.
    ``penalty_weight``, ``gradient``: as FGSM's.
    """

    epsilons: tuple[float, ...]
    steps: int
    step_size: float
    restarts: int
    random_start: bool
    seed: int
    batch_size: int
    penalty_weight: float
    gradient: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "epsilons", tuple(float(eps) for eps in self.epsilons))
        if not self.epsilons or min(self.epsilons) < 0:
            raise ValueError(f"epsilons must be a non-empty list of values >= 0: {self.epsilons}")
        if min(self.steps, self.restarts, self.batch_size) < 1:
            raise ValueError(
                f"steps, restarts and batch_size must be >= 1 "
                f"({self.steps}, {self.restarts}, {self.batch_size})"
            )
        if self.step_size <= 0 or self.penalty_weight < 0:
            raise ValueError(
                f"step_size must be > 0 and penalty_weight >= 0 "
                f"({self.step_size}, {self.penalty_weight})"
            )
        if self.gradient not in GRADIENTS:
            raise ValueError(f"gradient must be one of {', '.join(GRADIENTS)}, got {self.gradient}")

    @classmethod
    def from_config(cls, settings: Mapping[str, Any]) -> PGDSettings:
        """The settings of a config mapping (keys named as the fields; others ignored).

        A ``preset`` key names a preset whose values fill the fields the mapping leaves
        out or gives as ``None`` (a config's "the preset's value").
        """
        preset = settings.get("preset")
        if preset is not None and preset not in PRESETS:
            raise ValueError(f"no PGD preset {preset!r} (allowed: {', '.join(PRESETS)})")
        given = {key: value for key, value in settings.items() if value is not None}
        base = PRESETS[preset] if preset is not None else {}
        return cls(**config_fields(cls, {**base, **given}, "PGD"))

    @classmethod
    def beside_fgsm(
        cls, pgd: Mapping[str, Any], fgsm: Mapping[str, Any], penalty_weight: float = 0.0
    ) -> PGDSettings:
        """PGD's settings from a PGD config section (its null keys: the preset's) run beside
        FGSM's: on FGSM's batches and gradient, at FGSM's epsilons unless it names its own
        (so that the two attacks' rows compare)."""
        epsilons = fgsm["epsilons"] if pgd.get("epsilons") is None else pgd["epsilons"]
        return cls.from_config(
            {
                **pgd,
                "batch_size": fgsm["batch_size"],
                "gradient": fgsm["gradient"],
                "epsilons": epsilons,
                "penalty_weight": penalty_weight,
            }
        )

    @classmethod
    def preset(cls, name: str, **settings: Any) -> PGDSettings:
        """A named preset (``madry_mnist``) with the remaining fields given here."""
        if name not in PRESETS:
            raise ValueError(f"no PGD preset {name!r} (allowed: {', '.join(PRESETS)})")
        return cls(**{**PRESETS[name], **settings})


@dataclass
class PGDResult(FGSMResult):
    """FGSM's result (adversarial images at every epsilon, what the model makes of them),
    with the restart each image's kept example came from (``k`` epsilons, ``n`` images)."""

    restart: np.ndarray | None = None


class PGD(SignStepAttack):
    """L-infinity projected gradient descent at every epsilon: an attack configured once.

    ``run(model, inputs, targets)`` takes images (``inputs``) in ``[0, 1]`` of any shape
    with the batch first and their true labels (``targets``) and returns a
    :class:`PGDResult` whose adversarial images have the same shape.
    """

    name = "PGD"

    def _starts(self, flat: np.ndarray, eps: float, rng: np.random.Generator) -> np.ndarray:
        if not self.settings.random_start:
            return flat
        noise = rng.uniform(-eps, eps, flat.shape).astype(np.float32)
        return np.clip(flat + noise, 0.0, 1.0)

    def run(self, model: ModelHandle, inputs: np.ndarray, targets: np.ndarray) -> PGDResult:
        images, labels, attack = self._prepare(model, inputs, targets)
        flat = images.reshape(len(images), -1)
        rows = np.arange(len(labels))
        rng = np.random.default_rng(self.settings.seed)
        step_size = tf.constant(self.settings.step_size, tf.float32)
        started = time.perf_counter()
        adversarial, penalties, restarts = [], [], []
        for eps in self.settings.epsilons:
            best = flat.copy()
            best_penalty = np.zeros(len(flat), np.float32)
            best_score = np.full(len(flat), -np.inf)
            chosen = np.zeros(len(flat), np.int64)
            for restart in range(self.settings.restarts):
                starts = self._starts(flat, eps, rng)
                x_adv, score = self._steps(attack, flat, starts, labels, eps, step_size)
                probabilities = model.probabilities_numpy(x_adv).astype(np.float64)
                loss = -np.log(np.maximum(probabilities[rows, labels], 1e-300))
                fooled = probabilities.argmax(axis=1) != labels
                ranked = loss + np.where(fooled, 1e6, 0.0)  # a fooling example first, then loss
                better = ranked > best_score
                best[better], best_penalty[better] = x_adv[better], score[better]
                best_score[better], chosen[better] = ranked[better], restart
            adversarial.append(best)
            penalties.append(best_penalty)
            restarts.append(chosen)
        return scored_result(
            PGDResult,
            model,
            images,
            labels,
            self.settings.epsilons,
            adversarial,
            penalties if self.penalty is not None else None,
            time.perf_counter() - started,
            restart=np.stack(restarts),
        )

"""What the card measures of one model, each with the attack its study uses (shared layers
only: the card imports no study).

Every figure is "how easily is this model fooled, and how": clean accuracy; FGSM's and PGD's
error at each epsilon (white box, on the first test images); the L-BFGS attack's success and
median minimal distortion towards a seeded other class (Szegedy et al.'s measure); the
MAP-Elites generation (each encoding) and gradient-ascent step at which each digit is first
fooled at the top confidence threshold (Nguyen et al.'s); the share of convex combinations of
collision corners that keep the target's class (Li et al.'s); the transfer of L-BFGS examples
between the model and Szegedy et al.'s networks, both ways; and the autoencoder detector's
ROC-AUC on the model's FGSM and PGD images against clean test images.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np

IMAGE_SHAPE = (28, 28)
N_DIGITS = 10


def clean_accuracy(handle: Any, images: np.ndarray, labels: np.ndarray) -> float:
    return float((handle.probabilities_numpy(images).argmax(axis=1) == labels).mean())


def sign_step_attacks(
    handle: Any,
    images: np.ndarray,
    labels: np.ndarray,
    fgsm: Mapping[str, Any],
    pgd: Mapping[str, Any],
) -> dict[str, Any]:
    """FGSM's and PGD's results on the images (``fgsm``, ``pgd``: the defences study's
    sections; PGD at FGSM's epsilons unless it names its own, as there)."""
    from fooled.attacks.fgsm import FGSM, FGSMSettings
    from fooled.attacks.pgd import PGD, PGDSettings

    weak = FGSM(FGSMSettings.from_config({**fgsm, "penalty_weight": 0.0}))
    strong = PGD(PGDSettings.beside_fgsm(pgd, fgsm))
    return {
        "fgsm": weak.run(handle, images, labels),
        "pgd": strong.run(handle, images, labels),
    }


def lbfgs_distortion(
    handle: Any, images: np.ndarray, labels: np.ndarray, settings: Mapping[str, Any], seed: int
) -> dict[str, Any]:
    """Szegedy et al.'s attack towards a seeded other class: success and median distortion."""
    from fooled.attacks.lbfgs import LBFGSAttack, LBFGSSettings, random_targets

    targets = random_targets(labels, handle.n_classes, seed)
    result = LBFGSAttack(LBFGSSettings.from_config(settings)).run(handle, images, targets)
    found = result.distortion[result.success]
    return {
        "n": len(images),
        "success_rate": result.success_rate(),
        "median_distortion": float(np.median(found)) if len(found) else float("nan"),
        "distortion": result.distortion,
        "examples": (
            np.asarray(result.adversarial, np.float32).reshape(-1, *IMAGE_SHAPE)[result.success],
            labels[result.success],
        ),
    }


def generations_to_fool(
    handle: Any, encoding: str, evolve: Mapping[str, Any], generations: int, seed: int
) -> dict[str, Any]:
    """MAP-Elites (fooling's settings, ``generations`` of them): per digit, the first
    generation whose elite reaches the top threshold (-1: not within the run)."""
    from fooled.attacks.encodings import make_encoding
    from fooled.attacks.evolution import EvolutionSettings, MapElites

    settings = {**evolve, "generations": generations, "checkpoint_every": 0, "snapshot_every": 0}
    attack = MapElites(
        EvolutionSettings.from_config(settings),
        make_encoding(encoding, evolve[encoding], IMAGE_SHAPE),
    )
    result = attack.run(handle, seed, np.arange(N_DIGITS))
    return {
        "threshold": float(result.thresholds[-1]),
        "generation": result.threshold_generation[-1].astype(np.int64),
        "confidence": result.elite_confidence.astype(np.float32),
        "elites": result.elites.astype(np.float32),
    }


def steps_to_fool(handle: Any, ascend: Mapping[str, Any], seed: int) -> dict[str, Any]:
    """Gradient ascent (fooling's settings) from seeded uniform noise, one start per digit: the
    first step at the top threshold (-1: never)."""
    from fooled.attacks.ascent import AscentSettings, GradientAscent

    starts = np.random.default_rng(seed).uniform(0, 1, (N_DIGITS, *IMAGE_SHAPE))
    attack = GradientAscent(AscentSettings.from_config(ascend), low=0.0, high=1.0, centre=0.0)
    result = attack.run(handle, starts.astype(np.float32), np.arange(N_DIGITS))
    return {
        "threshold": float(result.thresholds[-1]),
        "step": result.threshold_step[-1].astype(np.int64),
        "final_confidence": result.final_confidence.astype(np.float32),
    }


def collision_pairs(labels: np.ndarray, count: int, seed: int) -> list[tuple[int, int]]:
    """``count`` (seed image, target image) index pairs of different classes, seeded."""
    rng = np.random.default_rng(seed)
    pairs: list[tuple[int, int]] = []
    while len(pairs) < count:
        first, second = (int(i) for i in rng.choice(len(labels), 2, replace=False))
        if labels[first] != labels[second]:
            pairs.append((first, second))
    return pairs


def exact_polytope_reason(handle: Any) -> str | None:
    """Why the exact LP polytope does not apply at the handle's layer (None: it does)."""
    if handle.preprocess != "none":
        return "the model scales its input (pixel_max 255): the LP works on its own pixels"
    kernel = handle.layer_weights()[0]
    if kernel.ndim != 2 or kernel.shape[0] != handle.input_size:
        return f"layer '{handle.layer}' is not the first dense layer (not affine in the pixels)"
    return None


def exact_corners(
    handle: Any,
    seed_image: np.ndarray,
    target_image: np.ndarray,
    polytope: Mapping[str, Any],
    n_corners: int,
) -> dict[str, int]:
    """LP corners of the exact collision polytope (collisions_mnist's polytope settings),
    certified through the real network: how many were found and how many certify."""
    from fooled.attacks import lp_corners

    found = lp_corners.LPCorners(lp_corners.LPSettings.from_config(polytope), n_corners).run(
        handle, seed_image, target_image
    )
    activations, _ = handle.later_outputs()
    certificate = lp_corners.certify(
        found.polytope,
        None,
        None,
        found.corners.reshape(len(found.results), -1),
        activations=activations,
        target=target_image,
        tol=float(polytope["tolerance"]),
    )
    return {
        "lp_corners": int(sum(result.success for result in found.results)),
        "lp_certified": int(certificate.certified.sum()),
        "lp_tried": len(found.results),
    }


def collision_interpolations(
    handle: Any,
    images: np.ndarray,
    labels: np.ndarray,
    corners: Mapping[str, Any],
    count: int,
    n_interpolations: int,
    seed: int,
    logger: logging.Logger,
    polytope: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Micro collisions (collisions_mnist's corner settings) at the handle's layer: per pair,
    the share of corners that collide, and of the convex combinations of its corners that the
    model gives the target's class (Li et al.'s check). With ``polytope`` (collisions_mnist's
    polytope settings) and a first dense layer, the exact LP corners too, certified."""
    from fooled.attacks.corners import CornerSettings, GradientCorners

    settings = CornerSettings.from_config(corners)
    attack = GradientCorners(settings)
    rng = np.random.default_rng(seed)
    exact_skipped = "no polytope settings" if polytope is None else exact_polytope_reason(handle)
    rows = []
    for position, (seed_index, target_index) in enumerate(collision_pairs(labels, count, seed)):
        seed_image = images[seed_index].reshape(-1)
        target_image = images[target_index].reshape(-1)
        found = attack.run(handle, seed_image, target_image)
        corners_found = found.corners.reshape(len(found.corners), -1)
        mix = rng.dirichlet(np.ones(len(corners_found)), n_interpolations).astype(np.float32)
        between = mix @ corners_found
        kept = handle.probabilities_numpy(between).argmax(axis=1) == labels[target_index]
        collided = found.trace.converged
        rows.append(
            {
                "seed_index": seed_index,
                "target_index": target_index,
                "target_class": int(labels[target_index]),
                "corners_collided": float(np.mean(collided)),
                "interpolation_accuracy": float(kept.mean()),
            }
        )
        if exact_skipped is None and polytope is not None:
            rows[-1] |= exact_corners(
                handle, seed_image, target_image, polytope, settings.n_corners
            )
        exact = (
            f"; exact LP corners: {rows[-1]['lp_certified']} of {rows[-1]['lp_tried']} certified"
            if "lp_tried" in rows[-1]
            else ""
        )
        logger.info(
            "collision %d (test %d -> %d, class %d): %.0f%% of corners collide, "
            "%.1f%% of %d interpolations keep the class%s",
            position,
            seed_index,
            target_index,
            labels[target_index],
            100 * rows[-1]["corners_collided"],
            100 * rows[-1]["interpolation_accuracy"],
            n_interpolations,
            exact,
        )
    return {"pairs": rows, "exact_skipped": exact_skipped or ""}


def _error(handle: Any, images: np.ndarray, labels: np.ndarray) -> float:
    if len(images) == 0:
        return float("nan")
    return float((handle.probabilities_numpy(images).argmax(axis=1) != labels).mean())


def read_lbfgs_examples(path: str) -> tuple[str, np.ndarray, np.ndarray]:
    """An L-BFGS artifact's attacked model (its ``model`` attribute) and its successful
    examples with their true labels."""
    from fooled.core import h5io

    with h5io.open_artifact(path) as handle:
        names = [name for name in ("success",) if name in handle]
    arrays = h5io.read_arrays(path, ["adversarial", "labels", *names])
    images = np.asarray(arrays["adversarial"], np.float32).reshape(-1, *IMAGE_SHAPE)
    keep = np.asarray(arrays.get("success", np.ones(len(images), bool)), bool).reshape(-1)
    labels = np.asarray(arrays["labels"]).reshape(-1)
    return str(h5io.read_attrs(path)["model"]), images[keep], labels[keep]


def transfer(
    handle: Any,
    own_examples: np.ndarray,
    own_labels: np.ndarray,
    model_paths: list[str],
    attack_paths: list[str],
) -> dict[str, Any]:
    """L-BFGS examples across models, Szegedy et al.'s Tables 2-4 test: ``to`` is this
    model's error on each of Szegedy's networks' examples, ``from`` each network's error on
    this model's examples (per network, its seeds pooled; against the true labels)."""
    from fooled.models.handle import ModelHandle
    from fooled.models.runtime import load_model

    to: dict[str, list[Any]] = {}
    back: dict[str, list[float]] = {}
    for model_path, attack_path in zip(model_paths, attack_paths, strict=True):
        name, images, labels = read_lbfgs_examples(attack_path)
        to.setdefault(name, [0, 0])
        to[name][0] += int(len(images))
        to[name][1] += int((handle.probabilities_numpy(images).argmax(axis=1) != labels).sum())
        other = ModelHandle(load_model(model_path))
        back.setdefault(name, []).append(_error(other, own_examples, own_labels))
    return {
        "to": {
            name: {"n": n, "error": wrong / n if n else float("nan")}
            for name, (n, wrong) in to.items()
        },
        "from": {name: float(np.mean(errors)) for name, errors in back.items()},
        "n_own_examples": int(len(own_examples)),
    }

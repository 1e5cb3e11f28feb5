"""The exact collision polytope of an experiment's layer, by linear programming.

The gradient corners of the collide stage are approximate (``L_pos < 5``);
here the same experiment's collision polytope (the first hidden layer, affine
in the pixels) is solved exactly by linear programming, and both kinds of
corner are certified against the layer and, through the real network, its
later layers. The 2,000 convex combinations of the LP corners are certified
too: convexity makes each an exact collision, the certificate checks the
arithmetic.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from fooled.attacks import lp_corners as polytope
from fooled.core import h5io
from fooled.data.mnist import to_pixels
from fooled.models.handle import ModelHandle
from fooled.studies.collisions import interpolation

PathLike = str | os.PathLike[str]
IMAGE_SIDE = 28


def certificate_arrays(prefix: str, certificate: polytope.Certificate) -> dict[str, np.ndarray]:
    return {
        f"{prefix}/max_equality_error": certificate.max_equality_error,
        f"{prefix}/max_negative_preact": certificate.max_negative_preact,
        f"{prefix}/box_violation": certificate.box_violation,
        f"{prefix}/post_activation_error": certificate.post_activation_error,
        f"{prefix}/downstream_error": certificate.downstream_error,
        f"{prefix}/predicted": certificate.predicted,
        f"{prefix}/class_preserved": certificate.class_preserved,
        f"{prefix}/exact": certificate.exact,
        f"{prefix}/certified": certificate.certified,
    }


def nan_max(values: np.ndarray) -> float:
    values = np.asarray(values, np.float64)
    return float(np.nanmax(values)) if np.any(np.isfinite(values)) else float("nan")


def exact_polytope(
    model: ModelHandle,
    collide_path: PathLike,
    test_images: np.ndarray,
    settings: Mapping[str, Any],
    interp_settings: Mapping[str, Any],
    name: str,
    logger: logging.Logger,
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The polytope artifact of one experiment: LP corners, certificates, pixel ranges.

    ``model`` is seen at the experiment's layer; the gradient corners are read
    back from the experiment's collide artifact, so both kinds of corner are
    certified against the same layer and, through the real network, its later
    layers. Returns the artifact's datasets and attributes.
    """
    collide = h5io.read_arrays(
        collide_path,
        ["seed_image", "target_image", "corners", "negative_units", "preact_target"],
    )
    attrs = h5io.read_attrs(collide_path)
    layer = str(attrs["layer"])
    target_class = int(attrs["target_predicted_class"])
    seed_image = collide["seed_image"].reshape(-1)
    target_image = collide["target_image"].reshape(-1)
    gradient_corners = collide["corners"].reshape(len(collide["corners"]), -1)
    units = [int(u) for u in collide["negative_units"]]

    lp = polytope.LPCorners(polytope.LPSettings.from_config(settings), len(units))
    started = time.perf_counter()
    found = lp.run(model, collide["seed_image"], collide["target_image"])
    if found.target.units != units or not np.array_equal(
        found.target.preact, collide["preact_target"]
    ):
        raise h5io.ArtifactError(
            f"{collide_path}: the target's pre-activation or negative units differ from the "
            "model's (a collide artifact of another model?)"
        )
    poly, results = found.polytope, found.results
    activations, later = model.later_outputs(layer)
    rank = polytope.positive_rank(poly)
    n_positive = int(poly.positive.sum())
    logger.info(
        "%s: layer %s, %d positive / %d negative units, rank(W_pos) = %d, equality flat dim %d",
        name,
        layer,
        n_positive,
        int((~poly.positive).sum()),
        rank,
        poly.n_inputs - rank,
    )

    mode = str(settings["mode"])
    time_limit = settings["time_limit_seconds"]
    lp_seconds = np.array([r.seconds for r in results])
    feasible = np.array([r.success for r in results], dtype=bool)
    lp_corners = found.corners.reshape(len(results), -1).astype(np.float32)
    for r in results:
        logger.info(
            "LP corner unit %d (%s): status %d (%s), f0_i = %.4f, %.3f s",
            r.unit,
            r.mode,
            r.status,
            r.message,
            r.objective,
            r.seconds,
        )

    tol = float(settings["tolerance"])
    certify = {
        "activations": activations,
        "target": target_image,
        "target_class": target_class,
        "tol": tol,
    }
    lp_cert = polytope.certify(poly, None, None, lp_corners, **certify)
    gradient_cert = polytope.certify(poly, None, None, gradient_corners, **certify)
    target_cert = polytope.certify(poly, None, None, target_image, **certify)
    logger.info(
        "certified: LP corners %s (max eq. err %.3g, max neg. preact %.3g); gradient corners %s "
        "(max eq. err %.3g, max neg. preact %.3g); target itself %s",
        lp_cert.certified.tolist(),
        nan_max(lp_cert.max_equality_error),
        nan_max(lp_cert.max_negative_preact),
        gradient_cert.certified.tolist(),
        nan_max(gradient_cert.max_equality_error),
        nan_max(gradient_cert.max_negative_preact),
        bool(target_cert.certified[0]),
    )

    # The 2,000 convex combinations of the LP corners, as the paper checks its corners.
    # Convexity makes every one an exact collision; certifying them checks the arithmetic.
    usable = lp_corners[feasible]
    n_samples = int(interp_settings["n_samples"])
    if len(usable) >= 2:
        interp = interpolation.check_interpolations(
            usable,
            target_class,
            lambda x: activations(x)[-1],
            n_samples,
            int(interp_settings["seed"]),
        )
        mixtures = interp.weights @ usable.reshape(len(usable), -1)
        interp_cert = polytope.certify(poly, None, None, mixtures, **certify)
        interp_arrays = {
            "interp/weights": interp.weights,
            "interp/predicted": interp.predicted,
            "interp/top_probability": interp.top_probability,
            "interp/max_equality_error": interp_cert.max_equality_error.astype(np.float32),
            "interp/max_negative_preact": interp_cert.max_negative_preact.astype(np.float32),
            "interp/certified": interp_cert.certified,
        }
        interp_attrs = {
            "interp_top_class_accuracy": interp.top_class_accuracy,
            "interp_prob_mean": interp.prob_mean,
            "interp_certified_fraction": float(interp_cert.certified.mean()),
            "interp_max_equality_error": nan_max(interp_cert.max_equality_error),
            "interp_max_negative_preact": nan_max(interp_cert.max_negative_preact),
            "dist_lp_corners_mean": interpolation.mean_pairwise_distance(usable),
        }
    else:
        logger.warning("%d feasible LP corners: no interpolation check", len(usable))
        interp_arrays = {}
        interp_attrs = {
            key: float("nan")
            for key in (
                "interp_top_class_accuracy",
                "interp_prob_mean",
                "interp_certified_fraction",
                "interp_max_equality_error",
                "interp_max_negative_preact",
                "dist_lp_corners_mean",
            )
        }

    pixels = np.asarray(settings["pixels"], dtype=np.int64).reshape(-1, 2)
    ranges = [
        polytope.pixel_range(poly, int(row) * IMAGE_SIDE + int(col), time_limit=time_limit)
        for row, col in pixels
    ]
    for (row, col), pixel_range in zip(pixels, ranges, strict=True):
        logger.info(
            "pixel (%d, %d): [%.4f, %.4f] over the polytope",
            row,
            col,
            pixel_range.low,
            pixel_range.high,
        )

    rng = np.random.default_rng(int(interp_settings["seed"]))
    sample = rng.choice(
        len(test_images), size=int(interp_settings["n_dataset_images"]), replace=False
    )
    dist_dataset = interpolation.mean_pairwise_distance(to_pixels(test_images[sample]))
    dist_gradient = interpolation.mean_pairwise_distance(gradient_corners)
    seconds = time.perf_counter() - started
    seconds_per_lp = float(lp_seconds.mean()) if lp_seconds.size else float("nan")
    logger.info(
        "%d/%d LP corners feasible, %.3f s per LP corner; distances LP %.3f / gradient %.3f / "
        "dataset %.3f; interpolation accuracy %.4f",
        int(feasible.sum()),
        len(results),
        seconds_per_lp,
        interp_attrs["dist_lp_corners_mean"],
        dist_gradient,
        dist_dataset,
        interp_attrs["interp_top_class_accuracy"],
    )

    return (
        {
            "lp_corners": lp_corners.reshape(-1, IMAGE_SIDE, IMAGE_SIDE),
            "negative_units": np.asarray(units, np.int64),
            "lp_status": np.array([r.status for r in results], np.int64),
            "lp_message": np.array([r.message.encode("ascii", "replace") for r in results]),
            "lp_feasible": feasible,
            "lp_objective": np.array([r.objective for r in results], np.float64),
            "lp_seconds": lp_seconds,
            "dist_lp_to_seed": np.linalg.norm(lp_corners - seed_image, axis=1),
            "dist_lp_to_target": np.linalg.norm(lp_corners - target_image, axis=1),
            "pixel_ranges/pixels": pixels,
            "pixel_ranges/low": np.array([r.low for r in ranges], np.float64),
            "pixel_ranges/high": np.array([r.high for r in ranges], np.float64),
            "pixel_ranges/status": np.array(
                [[r.status_low, r.status_high] for r in ranges], np.int64
            ).reshape(-1, 2),
        }
        | certificate_arrays("lp_certificate", lp_cert)
        | certificate_arrays("gradient_certificate", gradient_cert)
        | interp_arrays,
        {
            "experiment": name,
            "layer": layer,
            "later_layers": later,
            "mode": mode,
            "unit_weight": float(settings["unit_weight"]),
            "tolerance": tol,
            "target_class": target_class,
            "n_lp": len(results),
            "lp_corners_feasible": int(feasible.sum()),
            "lp_certified": int(lp_cert.certified.sum()),
            "gradient_certified": int(gradient_cert.certified.sum()),
            "target_certified": bool(target_cert.certified[0]),
            "n_inputs": poly.n_inputs,
            "n_positive_units": n_positive,
            "rank_pos": rank,
            "equality_dim": poly.n_inputs - rank,
            "dist_gradient_corners_mean": dist_gradient,
            "dist_dataset_mean": dist_dataset,
            "n_samples": n_samples if len(usable) >= 2 else 0,
            "seconds_per_lp": seconds_per_lp,
            "seconds_pixel_ranges": float(sum(r.seconds for r in ranges)),
            "seconds": seconds,
        }
        | interp_attrs,
    )

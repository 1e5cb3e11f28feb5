"""Snakemake script for rule ``polytope``: exact (LP) corners and certificates for one experiment.

The gradient corners of rule ``collide`` are approximate (``L_pos < 5``); here
the same experiment's collision polytope (layer ``fc1``, affine in the pixels)
is solved exactly by linear programming, and both kinds of corner are
certified against the layer and, through the real network, its later layers.
"""

import time

import numpy as np

from fooled.attacks import lp_corners as polytope
from fooled.core import h5io
from fooled.core.stage import run_stage
from fooled.models import mlp
from fooled.studies.collisions import interpolation

smk = globals()["snakemake"]  # injected by Snakemake's script directive

IMAGE_SIDE = 28


def later_activations(model, layer: str):
    """A callable: input rows -> the layer's ReLU output and every later layer's output.

    The last output is the model's (the class probabilities), as
    :func:`fooled.polytope.certify` expects.
    """
    names = [candidate.name for candidate in model.layers]
    later = names[names.index(layer) + 1 :]
    if not later:
        raise ValueError(f"layer '{layer}' is the model's last layer: nothing to certify after it")
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    probe = mlp.keras.Model(inputs, [model.get_layer(name).output for name in later])

    def activations(x: np.ndarray) -> list[np.ndarray]:
        # A direct call, not predict(): the batches here are small (at most a few
        # thousand rows) and predict's per-call setup cost more than the forward pass.
        outputs = probe(np.asarray(x, np.float32), training=False)
        return [np.asarray(output) for output in outputs]

    return activations, later


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


def main(logger) -> None:
    mlp.limit_threads(smk.threads)
    settings = dict(smk.params.settings)
    interp_settings = dict(smk.params.interpolate)
    name = smk.wildcards.experiment
    collide = h5io.read_arrays(
        smk.input.collide,
        ["seed_image", "target_image", "corners", "negative_units", "preact_target"],
    )
    attrs = h5io.read_attrs(smk.input.collide)
    layer = str(attrs["layer"])
    target_class = int(attrs["target_predicted_class"])
    seed_image = collide["seed_image"].reshape(-1)
    target_image = collide["target_image"].reshape(-1)
    gradient_corners = collide["corners"].reshape(len(collide["corners"]), -1)
    units = [int(u) for u in collide["negative_units"]]

    mlp.make_deterministic(int(interp_settings["seed"]))
    model = mlp.load_model(smk.input.model)
    kernel, bias = model.get_layer(layer).get_weights()
    if kernel.shape[0] != target_image.size:
        raise ValueError(
            f"layer '{layer}' takes {kernel.shape[0]} inputs, not the {target_image.size} pixels: "
            "the exact polytope needs a layer that is affine in the pixels (fc1)"
        )
    activations, later = later_activations(model, layer)
    poly = polytope.CollisionPolytope.from_layer(kernel, bias, collide["preact_target"])
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
    time_limit = settings.get("time_limit_seconds")
    started = time.perf_counter()
    results = polytope.lp_corners(
        poly,
        units,
        seed=seed_image if mode == "near_seed" else None,
        unit_weight=float(settings["unit_weight"]),
        time_limit=time_limit,
    )
    lp_seconds = np.array([r.seconds for r in results])
    feasible = np.array([r.success for r in results], dtype=bool)
    lp_corners = np.stack([r.x for r in results]).astype(np.float32)
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

    test_images = h5io.read_arrays(smk.input.mnist, ["test/images"])["test/images"]
    rng = np.random.default_rng(int(interp_settings["seed"]))
    sample = rng.choice(
        len(test_images), size=int(interp_settings["n_dataset_images"]), replace=False
    )
    dist_dataset = interpolation.mean_pairwise_distance(mlp.to_pixels(test_images[sample]))
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

    h5io.write_artifact(
        smk.output[0],
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
        h5io.provenance(
            {"polytope": settings, "interpolate": interp_settings},
            {"collide": smk.input.collide, "model": smk.input.model, "mnist": smk.input.mnist},
            {"interpolate": int(interp_settings["seed"])},
        ),
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


run_stage("polytope", smk.log[0], main)

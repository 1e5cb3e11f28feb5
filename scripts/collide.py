"""Snakemake script for rule ``collide``: one experiment's micro-level corners."""

import numpy as np

from feature_collisions import collisions, h5io, losses, models
from feature_collisions.stage import run_stage

smk = globals()["snakemake"]  # injected by Snakemake's script directive


def main(logger) -> None:
    models.limit_threads(smk.threads)
    experiment = dict(smk.params.experiment)
    name = smk.wildcards.experiment
    mnist = h5io.read_arrays(smk.input.mnist, ["test/images", "test/labels"])
    predicted = h5io.read_arrays(smk.input.metrics, ["test/predicted"])["test/predicted"]
    labels = mnist["test/labels"]
    seed_index, target_index = models.pick_seed_and_target(experiment, labels, predicted)
    pixels = models.to_pixels(mnist["test/images"][[seed_index, target_index]])
    seed_image, target_image = pixels

    models.make_deterministic(0)
    handle = models.LayerHandle(models.load_model(smk.input.model), experiment["layer"])
    preact_target = handle.preact_numpy(target_image[None])[0]
    target_probabilities = handle.probabilities_numpy(target_image[None])[0]
    units = losses.negative_units(preact_target, experiment["n_corners"])
    settings = collisions.CornerSettings(
        optimizer=experiment["optimizer"],
        learning_rate=experiment["learning_rate"],
        w_pos=experiment["w_pos"],
        w_neg=experiment["w_neg"],
        threshold=experiment["threshold"],
        max_steps=experiment["max_steps"],
    )
    logger.info(
        "%s: seed test[%d] -> target test[%d], units %s", name, seed_index, target_index, units
    )
    result = collisions.MicroCollisionFinder(handle.preact).find(
        seed_image, preact_target, units, settings
    )
    logger.info(
        "%d steps in %.4f s (tracing %.2f s); converged %s; final L_pos %s",
        result.steps_run,
        result.seconds,
        result.trace_seconds,
        result.converged.tolist(),
        np.round(result.loss_pos[-1], 3).tolist(),
    )
    preact_corners = handle.preact_numpy(result.corners)
    corner_probabilities = handle.probabilities_numpy(result.corners)

    with h5io.atomic_h5(smk.output[0]) as out:
        h5io.write_datasets(
            out,
            {
                "seed_image": seed_image.reshape(28, 28),
                "target_image": target_image.reshape(28, 28),
                "corners": result.corners.reshape(-1, 28, 28),
                "negative_units": np.asarray(units, np.int64),
                "loss_pos": result.loss_pos,
                "loss_neg": result.loss_neg,
                "converged": result.converged,
                "converged_step": result.converged_step,
                "preact_target": preact_target.astype(np.float32),
                "preact_corners": preact_corners.astype(np.float32),
                "flipped_units": collisions.flipped_units(preact_corners, preact_target),
                "corner_probabilities": corner_probabilities.astype(np.float32),
                "corner_classes": corner_probabilities.argmax(axis=1).astype(np.int64),
            },
        )
        h5io.set_attrs(
            out,
            h5io.provenance(
                experiment, {"mnist": smk.input.mnist, "model": smk.input.model}, {"collide": 0}
            ),
        )
        h5io.set_attrs(
            out,
            {
                "experiment": name,
                "mode": "micro",
                "seed_class": experiment["seed"]["class"],
                "seed_index": seed_index,
                "target_class": experiment["target"]["class"],
                "target_index": target_index,
                "target_predicted_class": int(target_probabilities.argmax()),
                "target_probability": float(target_probabilities.max()),
                "steps_run": result.steps_run,
                "seconds": result.seconds,
                "trace_seconds": result.trace_seconds,
            }
            | {
                key: experiment[key]
                for key in (
                    "layer",
                    "n_corners",
                    "optimizer",
                    "learning_rate",
                    "w_pos",
                    "w_neg",
                    "threshold",
                    "max_steps",
                )
            },
        )


run_stage("collide", smk.log[0], main)

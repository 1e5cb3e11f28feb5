"""Snakemake script for rule ``collide``: one experiment's micro-level corners."""

import numpy as np

from fooled.attacks import collision_losses, corners
from fooled.core import h5io
from fooled.core.stage import run_stage
from fooled.models import mlp

smk = globals()["snakemake"]  # injected by Snakemake's script directive

# The experiment's settings kept as attributes (the report's columns).
SETTING_KEYS = ("layer", "n_corners", "optimizer", "learning_rate", "w_pos", "w_neg")
SETTING_KEYS += ("threshold", "max_steps")


def main(logger) -> None:
    mlp.limit_threads(smk.threads)
    experiment = dict(smk.params.experiment)
    name = smk.wildcards.experiment
    pair = mlp.read_seed_and_target(smk.input.mnist, smk.input.metrics, experiment)

    mlp.make_deterministic(0)
    handle = mlp.LayerHandle(mlp.load_model(smk.input.model), experiment["layer"])
    preact_target = handle.preact_numpy(pair.target_pixels[None])[0]
    target_probabilities = handle.probabilities_numpy(pair.target_pixels[None])[0]
    units = collision_losses.negative_units(preact_target, experiment["n_corners"])
    logger.info(
        "%s: seed test[%d] -> target test[%d], units %s",
        name,
        pair.seed_index,
        pair.target_index,
        units,
    )
    result = corners.MicroCollisionFinder(handle.preact).find(
        pair.seed_pixels, preact_target, units, corners.CornerSettings.from_config(experiment)
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

    h5io.write_artifact(
        smk.output[0],
        corners.corner_datasets(
            pair.seed_pixels.reshape(28, 28),
            pair.target_pixels.reshape(28, 28),
            result.corners.reshape(-1, 28, 28),
            units,
            result,
            preact_target,
            preact_corners,
            corner_probabilities,
        ),
        h5io.provenance(
            experiment, {"mnist": smk.input.mnist, "model": smk.input.model}, {"collide": 0}
        ),
        {
            "experiment": name,
            "mode": "micro",
            **pair.attrs(experiment, target_probabilities),
            "steps_run": result.steps_run,
            "seconds": result.seconds,
            "trace_seconds": result.trace_seconds,
        }
        | {key: experiment[key] for key in SETTING_KEYS},
    )


run_stage("collide", smk.log[0], main)

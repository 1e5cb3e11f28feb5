"""Snakemake script for rule ``collide_macro``: one MNIST macro experiment's corners.

Resumable: the optimiser's state is checkpointed to ``params.checkpoint`` every
``checkpoint_every`` steps; a rerun after a kill resumes from it (same settings
and inputs only) and gives the same corners as an uninterrupted run.
"""

import numpy as np
import tensorflow as tf

from fooled.attacks import collision_losses, composites
from fooled.core import h5io
from fooled.core.stage import run_stage
from fooled.models import mlp

smk = globals()["snakemake"]  # injected by Snakemake's script directive

# The experiment's settings kept as attributes (the report's columns).
SETTING_KEYS = ("layer", "n_corners", "w_pos", "w_neg", "w_tv", "momentum", "threshold")
SETTING_KEYS += ("max_steps", "chunk_steps", "checkpoint_every")


def main(logger) -> None:
    mlp.limit_threads(smk.threads)
    experiment = dict(smk.params.experiment)
    name = smk.wildcards.experiment
    pair = mlp.read_seed_and_target(smk.input.mnist, smk.input.metrics, experiment)
    found = h5io.read_arrays(smk.input.sources, ["sources", "weights", "seed_image"])
    if not np.array_equal(found["seed_image"].reshape(-1), pair.seed_image.ravel()):
        raise h5io.ArtifactError(f"{smk.input.sources}: sources of another seed image")
    sources = found["sources"].astype(np.float32) / 255.0  # (K, 28, 28, 1) in [0, 1]

    mlp.make_deterministic(0)
    handle = mlp.LayerHandle(mlp.load_model(smk.input.model), experiment["layer"])
    preact_target = handle.preact_numpy(pair.target_pixels[None])[0]
    target_probabilities = handle.probabilities_numpy(pair.target_pixels[None])[0]
    units = collision_losses.negative_units(preact_target, experiment["n_corners"])
    settings = composites.MacroSettings.from_config(experiment)
    inputs = {"sources": smk.input.sources, "model": smk.input.model, "mnist": smk.input.mnist}
    provenance = h5io.provenance(experiment, inputs, {"collide": 0})
    logger.info(
        "%s: seed test[%d] -> target test[%d], %d sources, units %s",
        name,
        pair.seed_index,
        pair.target_index,
        len(sources),
        units,
    )

    def preact(images):
        return handle.preact(tf.reshape(images, [tf.shape(images)[0], -1]))

    finder = composites.MacroCollisionFinder(preact, sources, chunk_steps=settings.chunk_steps)
    result = finder.find_resumable(
        found["weights"],
        preact_target,
        units,
        settings,
        provenance,
        smk.params.checkpoint,
        logger,
    )
    logger.info(
        "%d steps (resumed from %d) in %.2f s (compile %.2f s); final L_pos %s",
        result.steps_run,
        result.resumed_from,
        result.seconds,
        result.trace_seconds,
        np.round(result.loss_pos[-1], 3).tolist(),
    )
    corners = result.corners[..., 0]
    preact_corners = handle.preact_numpy(corners.reshape(len(corners), -1))
    corner_probabilities = handle.probabilities_numpy(corners.reshape(len(corners), -1))
    macro_datasets = composites.result_datasets(result, found["weights"], found["sources"], sources)
    macro_datasets["initial_image"] = macro_datasets["initial_image"][..., 0]
    h5io.write_artifact(
        smk.output[0],
        corners.corner_datasets(
            pair.seed_pixels.reshape(28, 28),
            pair.target_pixels.reshape(28, 28),
            corners,
            units,
            result,
            preact_target,
            preact_corners,
            corner_probabilities,
        )
        | macro_datasets
        | {"logits": result.logits},
        provenance,
        {
            "experiment": name,
            "mode": "macro",
            "dataset": "mnist",
            "weights": "trained",  # this workflow's model; its SHA-256 is in input_checksums
            **pair.attrs(experiment, target_probabilities),
            "steps_run": result.steps_run,
            "resumed_from": result.resumed_from,
            "seconds": result.seconds,
            "trace_seconds": result.trace_seconds,
            "n_sources": len(sources),
        }
        | composites.schedule_attrs(settings)
        | {key: experiment[key] for key in SETTING_KEYS},
    )
    composites.remove_checkpoint(smk.params.checkpoint)


run_stage("collide_macro", smk.log[0], main)

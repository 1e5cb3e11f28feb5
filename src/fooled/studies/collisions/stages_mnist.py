"""Stage functions of the collisions_mnist study (workflow/rules/studies/collisions_mnist.smk).

One job per experiment does the whole per-experiment chain, writing one
artifact per stage: the corners (collide), their 2,000 convex combinations
(interpolate) and, at the micro level, the exact polytope of the first
hidden layer (polytope). A job starts TensorFlow once for all three, which
is most of a small job's time, and changing one experiment's settings still
reruns that experiment's job alone.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from fooled.attacks import composites
from fooled.attacks.corners import Collision, CornerSettings, GradientCorners, corner_datasets
from fooled.core import h5io
from fooled.core.checkpoints import CheckpointFile
from fooled.core.progress import Progress
from fooled.core.stage import Job
from fooled.data.mnist import to_pixels
from fooled.models import runtime
from fooled.models.handle import ModelHandle
from fooled.studies.collisions import exact, interpolation, pairs
from fooled.studies.collisions.batches import MICRO_FILES
from fooled.studies.collisions.layout import MNIST_LAYOUT

SIDE = 28
# The experiment's settings kept as attributes of its collide artifact (the report's columns).
MICRO_KEYS = ("layer", "n_corners", "optimizer", "learning_rate", "w_pos", "w_neg", "threshold")
MICRO_KEYS += ("max_steps",)
MACRO_KEYS = ("layer", "n_corners", "w_pos", "w_neg", "w_tv", "momentum", "threshold")
MACRO_KEYS += ("max_steps", "chunk_steps", "checkpoint_every")


def _model(job: Job, layer: str) -> ModelHandle:
    runtime.limit_threads(job.threads)
    runtime.make_deterministic(0)
    return ModelHandle(runtime.load_model(job.input.model), layer)


def _log_collision(logger: logging.Logger, name: str, collision: Collision) -> None:
    trace = collision.trace
    logger.info(
        "%s: %d steps in %.4f s (compile %.2f s); converged %s; final L_pos %s",
        name,
        trace.steps_run,
        trace.seconds,
        trace.trace_seconds,
        np.asarray(trace.converged).tolist(),
        np.round(trace.loss_pos[-1], 3).tolist(),
    )


def write_interpolations(
    job: Job,
    model: ModelHandle,
    collide_attrs: Mapping[str, Any],
    corners: np.ndarray,
    logger: logging.Logger,
) -> None:
    """The paper's check: random convex combinations of the corners keep the target's class."""
    settings = dict(job.params.interpolate)
    test_images = h5io.read_arrays(job.input.mnist, ["test/images"])["test/images"]

    def dataset_images(rng: np.random.Generator) -> np.ndarray:
        sample = rng.choice(len(test_images), size=settings["n_dataset_images"], replace=False)
        return to_pixels(test_images[sample])

    provenance = h5io.provenance(
        settings,
        {"collide": job.output.collide, "model": job.input.model, "mnist": job.input.mnist},
        {"interpolate": settings["seed"]},
    )
    interpolation.write(
        job, settings, corners, collide_attrs, model, dataset_images, provenance, logger
    )


def collide_micro(job: Job, logger: logging.Logger) -> None:
    """One micro experiment: gradient corners, their interpolations, the exact polytope."""
    micro_experiment(job, _model(job, dict(job.params.experiment)["layer"]), logger)


def collide_micro_batch(job: Job, logger: logging.Logger) -> None:
    """Several micro experiments in one process (``params.experiments``: name -> settings),
    each written below ``output.batch`` as the study's layout puts it; ``collide_micro``
    copies them into place (:mod:`fooled.studies.collisions.batches`).

    TensorFlow starts once and the corner loop compiles once per layer and optimiser, which
    is most of a micro experiment's time. Every experiment starts from the same seeded state
    as in a job of its own, so its files hold the same bits.
    """
    files = MNIST_LAYOUT.under(job.output.batch)
    handles: dict[str, ModelHandle] = {}
    experiments = dict(job.params.experiments)
    for position, (name, experiment) in enumerate(experiments.items(), 1):
        layer = dict(experiment)["layer"]
        if layer in handles:
            runtime.make_deterministic(0)  # the state _model leaves a job of its own in
        else:
            handles[layer] = _model(job, layer)
        single = Job.make(
            input=job.input,
            output={artifact: files.path(artifact, experiment=name) for artifact in MICRO_FILES},
            params={
                "experiment": experiment,
                "interpolate": job.params.interpolate,
                "polytope": job.params.polytope,
            },
            wildcards={"experiment": name},
            threads=job.threads,
        )
        logger.info("experiment %d/%d: %s", position, len(experiments), name)
        micro_experiment(single, handles[layer], logger)


def micro_experiment(job: Job, model: ModelHandle, logger: logging.Logger) -> None:
    """A micro experiment's three files, on a model seeded as :func:`_model` leaves it."""
    experiment = dict(job.params.experiment)
    name = job.wildcards.experiment
    pair = pairs.read_seed_and_target(job.input.mnist, job.input.metrics, experiment)
    logger.info("%s: seed test[%d] -> target test[%d]", name, pair.seed_index, pair.target_index)
    collision = GradientCorners(CornerSettings.from_config(experiment)).run(
        model, pair.seed_pixels, pair.target_pixels
    )
    trace = collision.trace
    write_collision(
        job,
        model,
        pair,
        collision,
        h5io.provenance(
            experiment, {"mnist": job.input.mnist, "model": job.input.model}, {"collide": 0}
        ),
        {
            "experiment": name,
            "mode": "micro",
            **pair.attrs(experiment, collision.target.probabilities),
            "steps_run": trace.steps_run,
            "seconds": trace.seconds,
            "trace_seconds": trace.trace_seconds,
        }
        | {key: experiment[key] for key in MICRO_KEYS},
        {},
        logger,
    )
    write_polytope(job, model, logger)


def write_collision(
    job: Job,
    model: ModelHandle,
    pair: pairs.SeedAndTarget,
    collision: Collision,
    provenance: Mapping[str, str],
    attrs: Mapping[str, Any],
    level_datasets: Mapping[str, np.ndarray],
    logger: logging.Logger,
) -> None:
    """An experiment's collide artifact, micro or macro (the corners as 28x28 images, the
    level's own datasets beside the common ones), then its interpolations."""
    _log_collision(logger, job.wildcards.experiment, collision)
    corners = collision.corners.reshape(-1, SIDE, SIDE)
    h5io.write_artifact(
        job.output.collide,
        corner_datasets(
            pair.seed_pixels.reshape(SIDE, SIDE),
            pair.target_pixels.reshape(SIDE, SIDE),
            replace(collision, corners=corners),
        )
        | dict(level_datasets),
        provenance,
        attrs,
    )
    write_interpolations(job, model, attrs, corners, logger)


def write_polytope(job: Job, model: ModelHandle, logger: logging.Logger) -> None:
    """The exact polytope of the experiment's layer, or a record of why there is none."""
    settings = dict(job.params.polytope)
    interp_settings = dict(job.params.interpolate)
    name = job.wildcards.experiment
    provenance = h5io.provenance(
        {"polytope": settings, "interpolate": interp_settings},
        {"collide": job.output.collide, "model": job.input.model, "mnist": job.input.mnist},
        {"interpolate": int(interp_settings["seed"])},
    )
    kernel = model.layer_weights()[0]
    if kernel.ndim != 2 or kernel.shape[0] != model.input_size:
        reason = (
            f"layer '{model.layer}' is not fed by the pixels, so its collision set is not a "
            "polytope in pixel space: no LP corners"
        )
        logger.info("%s: %s", name, reason)
        h5io.write_artifact(
            job.output.polytope,
            {},
            provenance,
            {"experiment": name, "layer": model.layer, "applicable": False, "reason": reason},
        )
        return
    test_images = h5io.read_arrays(job.input.mnist, ["test/images"])["test/images"]
    datasets, attrs = exact.exact_polytope(
        model, job.output.collide, test_images, settings, interp_settings, name, logger
    )
    h5io.write_artifact(job.output.polytope, datasets, provenance, attrs | {"applicable": True})


def collide_macro(job: Job, logger: logging.Logger) -> None:
    """One macro experiment: composites of source digits, resumable, and their interpolations.

    The optimiser's state is checkpointed to ``params.checkpoint`` every
    ``checkpoint_every`` steps; a rerun after a kill resumes from it (same
    settings and inputs only) and gives the same corners as an uninterrupted run.
    """
    experiment = dict(job.params.experiment)
    name = job.wildcards.experiment
    pair = pairs.read_seed_and_target(job.input.mnist, job.input.metrics, experiment)
    found = h5io.read_arrays(job.input.sources, ["sources", "weights", "seed_image"])
    if not np.array_equal(found["seed_image"].reshape(-1), pair.seed_image.ravel()):
        raise h5io.ArtifactError(f"{job.input.sources}: sources of another seed image")
    sources = found["sources"].astype(np.float32) / 255.0  # (K, 28, 28, 1) in [0, 1]
    model = _model(job, experiment["layer"])
    settings = composites.MacroSettings.from_config(experiment)
    inputs = {"sources": job.input.sources, "model": job.input.model, "mnist": job.input.mnist}
    logger.info(
        "%s: seed test[%d] -> target test[%d], %d sources",
        name,
        pair.seed_index,
        pair.target_index,
        len(sources),
    )
    provenance = h5io.provenance(experiment, inputs, {"collide": 0})
    checkpoint = CheckpointFile.for_job(
        job.params.checkpoint, experiment, inputs, {"collide": 0}, logger
    )
    with Progress(settings.max_steps, "macro corners", logger=logger) as progress:
        collision = checkpoint.run(
            composites.MacroComposites(settings),
            model,
            composites.Sources(sources, found["weights"]),
            pair.target_pixels,
            progress,
        )
    result = collision.trace
    macro_datasets = composites.result_datasets(result, found["weights"], found["sources"], sources)
    macro_datasets["initial_image"] = macro_datasets["initial_image"][..., 0]
    write_collision(
        job,
        model,
        pair,
        collision,
        provenance,
        {
            "experiment": name,
            "mode": "macro",
            "dataset": "mnist",
            "weights": "trained",  # this workflow's model; its SHA-256 is in input_checksums
            **pair.attrs(experiment, collision.target.probabilities),
            "steps_run": result.steps_run,
            "resumed_from": result.resumed_from,
            "seconds": result.seconds,
            "trace_seconds": result.trace_seconds,
            "n_sources": len(sources),
        }
        | composites.schedule_attrs(settings)
        | {key: experiment[key] for key in MACRO_KEYS},
        macro_datasets | {"logits": result.logits},
        logger,
    )
    checkpoint.remove()

"""The fooling study's stage functions: what each workflow rule runs (and what tests call).

Every stage is ``stage(job, logger)`` on a :class:`fooled.core.stage.Job`;
names below are the job's named inputs, outputs and params.

(The LeNet is a shared model, trained by rule ``train_lenet``: :mod:`fooled.models.stages`.)
- :func:`evolve` - input ``model`` (an MNIST .keras file) or, for VGG-16,
  params ``imagenet`` (``models.imagenet``) and optional input ``weights``;
  output ``result``; params ``settings`` (the evolve experiment, merged over
  its defaults), optional ``checkpoint`` (default: ``<result>.checkpoint``);
  wildcard ``run`` (run r uses seed + r).
- :func:`ascend` - input ``model`` (+ ``mnist`` for real-image starts) or
  params ``imagenet``; output ``result``; params ``settings``.
- :func:`retrain` - input ``model``, ``mnist``; output ``result``; params
  ``settings`` (the retrain experiment), ``evolve`` (``defaults.evolve``).
- :func:`report_section` - inputs ``evolve``, ``ascend``, ``retrain`` (lists of
  artifacts, any may be empty) and optional ``metrics_<model>`` (the models' training
  metrics); outputs ``html``, ``summary``, ``figures``; params ``report``
  (:mod:`fooled.studies.fooling.report`).

Artifacts are written once, atomically, with provenance; their layout is in
docs/studies/fooling.md.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from fooled.core import h5io
from fooled.core.checkpoints import CheckpointFile
from fooled.core.progress import Progress
from fooled.core.stage import Job
from fooled.data.mnist import read_mnist
from fooled.models.runtime import limit_threads, make_deterministic
from fooled.report.study import section_stage
from fooled.studies.fooling import report
from fooled.studies.fooling.retrain import retrain_rounds
from fooled.studies.fooling.runs import (
    ascend_datasets,
    ascent_attack,
    evolution_attack,
    evolve_datasets,
    image_starts,
    noise_starts,
    run_seed,
    target_classes,
)
from fooled.studies.fooling.targets import Target, imagenet_target, mnist_target

# ----------------------------------------------------------------------------- helpers


def open_target(job: Job) -> tuple[Target, dict[str, str]]:
    """The network a job attacks, and the input files it came from (for provenance)."""
    imagenet = job.params.get("imagenet")
    if imagenet:  # models.imagenet, given to the jobs that attack the ImageNet classifier only
        weights = job.input.get("weights")
        inputs = {"weights": weights} if weights else {}
        if imagenet.get("architecture") == "file" and imagenet.get("file"):
            inputs["model_file"] = imagenet["file"]
        return imagenet_target(imagenet, weights), inputs
    return mnist_target(job.input.model, job.params.settings["model"]), {"model": job.input.model}


def target_attrs(target: Target) -> dict[str, Any]:
    return {
        "model_label": target.label,
        "dataset": target.dataset,
        "comparable": target.comparable,
        "pixel_low": target.low,
        "pixel_high": target.high,
        "image_shape": list(target.image_shape),
    }


def checkpoint_path(job: Job) -> Path:
    given = job.params.get("checkpoint")
    return Path(given) if given else Path(f"{job.output.result}.checkpoint")


# ----------------------------------------------------------------------------- stages


def evolve(job: Job, logger: logging.Logger) -> None:
    """One MAP-Elites run (seed + run), checkpointed every ``checkpoint_every`` generations."""
    limit_threads(job.threads)
    settings = dict(job.params.settings)
    run = int(job.wildcards.get("run", 0))
    seed = run_seed(settings, run)
    make_deterministic(seed)
    target, inputs = open_target(job)
    classes = target_classes(settings, target)
    attack = evolution_attack(settings, target)
    record = {"settings": settings, "run": run, "model": target.label}
    checkpoint = CheckpointFile.for_job(
        checkpoint_path(job), record, inputs, {"evolve": seed}, logger
    )
    what = f"evolve {settings.get('name', settings['encoding'])} run {run}"
    with Progress(settings["generations"], what, "generation", logger) as progress:
        result = checkpoint.run(attack, target.handle, seed, classes, progress)
    at_top = int((result.threshold_generation[-1] >= 0).sum())
    ran = result.generations - result.resumed_from
    logger.info(
        "%d of %d classes at >= %.2f%%; %.2f generations/s",
        at_top,
        len(classes),
        100 * result.thresholds[-1],
        ran / result.seconds if result.seconds > 0 else float("nan"),
    )
    h5io.write_artifact(
        job.output.result,
        evolve_datasets(result),
        h5io.provenance(record, inputs, {"evolve": seed}),
        {
            "experiment": settings.get("name", ""),
            "model": settings["model"],
            "encoding": settings["encoding"],
            "run": run,
            "seed": seed,
            "population_size": settings["population_size"],
            "generations": result.generations,
            "evaluations": result.evaluations,
            "resumed_from": result.resumed_from,
            "seconds": result.seconds,
            "generations_per_second": ran / result.seconds if result.seconds > 0 else 0.0,
        }
        | target_attrs(target),
    )
    checkpoint.remove()


def ascend(job: Job, logger: logging.Logger) -> None:
    """Gradient ascent to every target class from noise and (MNIST) from real digits."""
    limit_threads(job.threads)
    settings = dict(job.params.settings)
    make_deterministic(settings["seed"])
    target, inputs = open_target(job)
    classes = target_classes(settings, target)
    starts, targets = noise_starts(classes, settings["noise_starts"], target, settings["seed"])
    start_class = np.full(len(targets), -1, np.int64)
    if settings["image_starts"] and target.dataset == "mnist":
        if "mnist" not in job.input:
            raise ValueError("real-image starts need the MNIST artifact (input 'mnist')")
        mnist = h5io.read_arrays(job.input.mnist, ["test/images", "test/labels"])
        inputs["mnist"] = job.input.mnist
        images, image_targets, sources = image_starts(
            classes, settings["image_starts"], target, mnist["test/images"], mnist["test/labels"]
        )
        starts = np.concatenate([starts, images])
        targets = np.concatenate([targets, image_targets])
        start_class = np.concatenate([start_class, sources])
    elif settings["image_starts"]:
        logger.info("image starts are MNIST digits: %s ascends from noise only", target.label)
    result = ascent_attack(settings, target).run(target.handle, starts, targets)
    reached = (result.threshold_step[-1] >= 0).mean() if len(targets) else float("nan")
    logger.info(
        "%d starts, %.0f%% at >= %.2f%% after %d steps (%.1f s)",
        len(targets),
        100 * reached,
        100 * result.thresholds[-1],
        settings["steps"],
        result.seconds,
    )
    h5io.write_artifact(
        job.output.result,
        ascend_datasets(result, start_class),
        h5io.provenance(
            {"settings": settings, "model": target.label}, inputs, {"noise": settings["seed"]}
        ),
        {
            "experiment": settings.get("name", ""),
            "model": settings["model"],
            "score": settings["score"],
            "lr_policy": settings["lr_policy"],
            "steps": settings["steps"],
            "l2_decay": settings["l2_decay"],
            "seconds": result.seconds,
        }
        | target_attrs(target),
    )


def retrain(job: Job, logger: logging.Logger) -> None:
    """The paper's retraining rounds (see :mod:`fooled.studies.fooling.retrain`)."""
    limit_threads(job.threads)
    settings = dict(job.params.settings)
    evolve_defaults = dict(job.params.evolve)
    make_deterministic(settings["seed"])
    target, inputs = open_target(job)
    if target.dataset != "mnist":
        raise ValueError("retraining is defined for the MNIST networks (lenet, mlp)")
    mnist = read_mnist(job.input.mnist)
    inputs["mnist"] = job.input.mnist
    result = retrain_rounds(target, settings["model"], mnist, settings, evolve_defaults, logger)
    record = {"settings": settings, "evolve": evolve_defaults, "model": target.label}
    h5io.write_artifact(
        job.output.result,
        result.datasets(),
        h5io.provenance(record, inputs, {"retrain": settings["seed"]}),
        {
            "experiment": settings.get("name", ""),
            "model": settings["model"],
            "encoding": settings["encoding"],
            "rounds": settings["rounds"],
            "runs_per_round": settings["runs_per_round"],
            "population_size": settings["population_size"],
            "generations": settings["generations"],
            "seconds": result.seconds,
        }
        | target_attrs(target),
    )


def report_section(job: Job, logger: logging.Logger) -> None:
    """The study's report section (:mod:`fooled.studies.fooling.report`, which the rule's
    script runs without this module and so without TensorFlow)."""
    section_stage(report)(job, logger)

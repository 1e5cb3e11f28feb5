"""The macro experiments' source digits (rule ``mnist_sources``): NumPy only, no TensorFlow.

A job that needs no TensorFlow should not pay for starting it (about 3.5 s a job on the
development machine), so this stage lives apart from the collision stages that do.
"""

from __future__ import annotations

import logging

import numpy as np

from fooled.core import h5io
from fooled.core.stage import Job
from fooled.data import mnist_patches
from fooled.data.mnist import read_mnist
from fooled.studies.collisions import pairs


def mnist_sources(job: Job, logger: logging.Logger) -> None:
    """A macro experiment's source digits: the nearest training patch of every seed patch."""
    settings = dict(job.params.patches)
    seed = dict(job.params.seed)
    mnist = read_mnist(job.input.mnist)
    predicted = h5io.read_arrays(job.input.metrics, ["test/predicted"])["test/predicted"]
    seed_index = pairs.pick_correct_example(
        mnist["test/labels"], predicted, seed["class"], seed["index"]
    )
    seed_image = mnist["test/images"][seed_index]
    found = mnist_patches.mnist_sources(
        mnist["train/images"],
        mnist["train/labels"],
        seed_image,
        size=settings["size"],
        stride=settings["stride"],
        n_images=settings["n_images"],
        sample_seed=settings["seed"],
        grid=settings["grid"],
        step=settings["step"],
        window=settings["window"],
    )
    logger.info(
        "seed test[%d]: %d sources from %d patches of %d digits, search %.2f s, "
        "mean patch distance %.1f",
        seed_index,
        len(found.sources),
        found.n_patches,
        len(found.database_images),
        found.search_seconds,
        float(found.distances.mean()),
    )
    h5io.write_artifact(
        job.output.sources,
        {
            "seed_image": seed_image,
            "sources": found.sources,
            "weights": found.weights,
            "coverage": found.coverage,
            "query_positions": found.query_positions,
            "neighbour_images": found.neighbour_images,
            "neighbour_positions": found.neighbour_positions,
            "neighbour_labels": found.neighbour_labels,
            "distances": found.distances,
        },
        h5io.provenance(
            {"patches": settings, "seed": seed},
            {"mnist": job.input.mnist, "metrics": job.input.metrics},
            {"database_sample": settings["seed"]},
        ),
        {
            "seed": job.wildcards.experiment,
            "seed_index": seed_index,
            "n_sources": len(found.sources),
            "n_patches": found.n_patches,
            "n_database_images": int(len(found.database_images)),
            "search_seconds": found.search_seconds,
            "mean_distance": float(np.mean(found.distances)),
        },
    )

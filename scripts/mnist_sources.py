"""Snakemake script for rule ``mnist_sources``: a seed digit's source digits and initial weights."""

import numpy as np

from fooled.core import h5io
from fooled.core.stage import run_stage
from fooled.data import mnist_patches
from fooled.models import mlp

smk = globals()["snakemake"]  # injected by Snakemake's script directive


def main(logger) -> None:
    patches = dict(smk.params.patches)
    seed = dict(smk.params.seed)
    mnist = h5io.read_arrays(
        smk.input.mnist, ["train/images", "train/labels", "test/images", "test/labels"]
    )
    predicted = h5io.read_arrays(smk.input.metrics, ["test/predicted"])["test/predicted"]
    seed_index = mlp.pick_correct_example(
        mnist["test/labels"], predicted, seed["class"], seed["index"]
    )
    seed_image = mnist["test/images"][seed_index]
    found = mnist_patches.mnist_sources(
        mnist["train/images"],
        mnist["train/labels"],
        seed_image,
        size=patches["size"],
        stride=patches["stride"],
        n_images=patches["n_images"],
        sample_seed=patches["seed"],
        grid=patches["grid"],
        step=patches["step"],
        window=patches["window"],
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
        smk.output[0],
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
            {"patches": patches, "seed": seed},
            {"mnist": smk.input.mnist, "metrics": smk.input.metrics},
            {"database_sample": patches["seed"]},
        ),
        {
            "seed": smk.wildcards.experiment,
            "seed_index": seed_index,
            "n_sources": len(found.sources),
            "n_patches": found.n_patches,
            "n_database_images": int(len(found.database_images)),
            "search_seconds": found.search_seconds,
            "mean_distance": float(np.mean(found.distances)),
        },
    )


run_stage("mnist_sources", smk.log[0], main)

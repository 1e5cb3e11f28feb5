"""Snakemake script for rule ``interpolate``: the 2,000 convex combinations of one experiment."""

import time

import numpy as np

from fooled.core import h5io
from fooled.core.stage import run_stage
from fooled.models import mlp
from fooled.studies.collisions import interpolation

smk = globals()["snakemake"]  # injected by Snakemake's script directive


def main(logger) -> None:
    mlp.limit_threads(smk.threads)
    settings = dict(smk.params.settings)
    collide = h5io.read_arrays(smk.input.collide, ["corners"])
    collide_attrs = h5io.read_attrs(smk.input.collide)
    test_images = h5io.read_arrays(smk.input.mnist, ["test/images"])["test/images"]

    mlp.make_deterministic(settings["seed"])
    model = mlp.load_model(smk.input.model)
    handle = mlp.LayerHandle(model, collide_attrs["layer"])
    target_class = int(collide_attrs["target_predicted_class"])

    started = time.perf_counter()
    result = interpolation.check_interpolations(
        collide["corners"],
        target_class,
        handle.probabilities_numpy,
        n_samples=settings["n_samples"],
        seed=settings["seed"],
    )
    seconds = time.perf_counter() - started
    rng = np.random.default_rng(settings["seed"])
    sample = rng.choice(len(test_images), size=settings["n_dataset_images"], replace=False)
    attrs = result.attrs(
        smk.wildcards.experiment,
        collide_attrs,
        collide["corners"],
        mlp.to_pixels(test_images[sample]),
        settings["seed"],
        seconds,
    )
    logger.info("%s", interpolation.describe(attrs))
    h5io.write_artifact(
        smk.output[0],
        result.arrays(),
        h5io.provenance(
            settings,
            {"collide": smk.input.collide, "model": smk.input.model, "mnist": smk.input.mnist},
            {"interpolate": settings["seed"]},
        ),
        attrs,
    )


run_stage("interpolate", smk.log[0], main)

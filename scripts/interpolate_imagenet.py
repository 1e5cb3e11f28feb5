"""Snakemake script for rule ``interpolate_imagenet``: 2,000 convex combinations, classified."""

import time

import numpy as np

from fooled.core import h5io
from fooled.core.stage import run_stage
from fooled.data import patches, sources
from fooled.models import mlp, vgg16
from fooled.studies.collisions import interpolation

smk = globals()["snakemake"]  # injected by Snakemake's script directive


def main(logger) -> None:
    mlp.limit_threads(smk.threads)
    settings = dict(smk.params.settings)
    model_settings = dict(smk.params.model)
    collide = h5io.read_arrays(smk.input.collide, ["corners"])
    collide_attrs = h5io.read_attrs(smk.input.collide)
    mlp.make_deterministic(settings["seed"])
    model = vgg16.build_model(
        model_settings["architecture"],
        model_settings["weights"],
        weights_path=getattr(smk.input, "weights", None),
        model_file=model_settings.get("file"),
        input_size=model_settings["input_size"],
        seed=model_settings["seed"],
    )
    handle = vgg16.PreactivationHandle(model, model_settings["layer"], model_settings["preprocess"])
    target_class = int(collide_attrs["target_predicted_class"])
    started = time.perf_counter()
    result = interpolation.check_interpolations(
        collide["corners"],
        target_class,
        lambda rows: handle.probabilities_numpy(rows, settings["batch_size"]),
        n_samples=settings["n_samples"],
        seed=settings["seed"],
    )
    seconds = time.perf_counter() - started
    store = patches.ImageStore([str(p) for p in smk.input.shards], preload=False)
    rng = np.random.default_rng(settings["seed"])
    count = min(settings["n_dataset_images"], store.n_images)
    chosen = np.sort(rng.choice(store.n_images, size=count, replace=False))
    size = model_settings["input_size"]
    images = np.stack([sources.resize_image(image, size) for image in store.images(chosen)])
    attrs = result.attrs(
        smk.wildcards.imagenet_experiment,
        collide_attrs,
        collide["corners"],
        images.astype(np.float32),
        settings["seed"],
        seconds,
    )
    logger.info("%s", interpolation.describe(attrs))
    h5io.write_artifact(
        smk.output[0],
        result.arrays(),
        h5io.provenance(
            {"interpolate": settings, "model": model_settings},
            {"collide": smk.input.collide},
            {"interpolate": settings["seed"]},
        ),
        attrs,
    )


run_stage("interpolate_imagenet", smk.log[0], main)

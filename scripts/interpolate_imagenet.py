"""Snakemake script for rule ``interpolate_imagenet``: 2,000 convex combinations, classified."""

import time

import numpy as np

from feature_collisions import h5io, interpolation, models, patches, sources, vgg
from feature_collisions.stage import run_stage

smk = globals()["snakemake"]  # injected by Snakemake's script directive


def main(logger) -> None:
    models.limit_threads(smk.threads)
    settings = dict(smk.params.settings)
    model_settings = dict(smk.params.model)
    collide = h5io.read_arrays(smk.input.collide, ["corners"])
    attrs = h5io.read_attrs(smk.input.collide)
    models.make_deterministic(settings["seed"])
    model = vgg.build_model(
        model_settings["architecture"],
        model_settings["weights"],
        weights_path=getattr(smk.input, "weights", None),
        model_file=model_settings.get("file"),
        input_size=model_settings["input_size"],
        seed=model_settings["seed"],
    )
    handle = vgg.PreactivationHandle(model, model_settings["layer"], model_settings["preprocess"])
    target_class = int(attrs["target_predicted_class"])
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
    dist_dataset = interpolation.mean_pairwise_distance(images.astype(np.float32))
    dist_corners = interpolation.mean_pairwise_distance(collide["corners"])
    logger.info(
        "%s: %d interpolations, accuracy %.4f, mean prob %.4f (target %.4f), distances "
        "corners %.2f / dataset %.2f (%d images)",
        smk.wildcards.imagenet_experiment,
        settings["n_samples"],
        result.top_class_accuracy,
        result.prob_mean,
        attrs["target_probability"],
        dist_corners,
        dist_dataset,
        count,
    )
    with h5io.atomic_h5(smk.output[0]) as out:
        h5io.write_datasets(out, result.arrays())
        h5io.set_attrs(
            out,
            h5io.provenance(
                {"interpolate": settings, "model": model_settings},
                {"collide": smk.input.collide},
                {"interpolate": settings["seed"]},
            ),
        )
        h5io.set_attrs(
            out,
            {
                "experiment": smk.wildcards.imagenet_experiment,
                "target_class": target_class,
                "target_prob": float(attrs["target_probability"]),
                "interp_top_class_accuracy": result.top_class_accuracy,
                "interp_prob_mean": result.prob_mean,
                "dist_corners_mean": dist_corners,
                "dist_dataset_mean": dist_dataset,
                "n_dataset_images": count,
                "n_samples": settings["n_samples"],
                "seed": settings["seed"],
                "seconds": seconds,
            },
        )


run_stage("interpolate_imagenet", smk.log[0], main)

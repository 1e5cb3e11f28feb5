"""Speed of the macro-level method: seconds per optimisation step, VGG-16 at FC-6.

    python benchmarks/bench_macro.py --sources 625 --corners 5 --steps 3
    python benchmarks/bench_macro.py --mnist MNIST_H5 MODEL_KERAS   # the MNIST macro experiment

VGG-16 has random weights here (the speed does not depend on them); the sources
are random 224x224 images. One compiled chunk of ``--steps`` steps is timed
after a zero-step call that pays for XLA compilation. ``--sources`` below 625
measures a smaller problem and prints a linear extrapolation of the composite's
share to 625 sources, clearly labelled as such.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np
import tensorflow as tf

from fooled.attacks import composites
from fooled.models import vgg16


def vgg_step_seconds(n_sources: int, corners: int, steps: int, size: int) -> dict:
    model = vgg16.build_model("vgg16", "random", input_size=size, seed=0)
    handle = vgg16.PreactivationHandle(model, "fc1", "vgg16")
    rng = np.random.default_rng(0)
    sources = rng.uniform(0, 255, (n_sources, size, size, 3)).astype(np.float32)
    target = handle.preact_numpy(sources[:1])[0]
    units = [int(u) for u in np.flatnonzero(target < 0)[:corners]]
    weights = rng.uniform(0.1, 1, (n_sources, size, size))
    weights /= weights.sum(axis=0, keepdims=True)
    settings = composites.MacroSettings(max_steps=steps, chunk_steps=steps, checkpoint_every=0)
    finder = composites.MacroCollisionFinder(handle.preact, sources, chunk_steps=steps)
    result = finder.find(composites.initial_logits(weights), target, units, settings)
    return {
        "sources": n_sources,
        "corners": corners,
        "image_size": size,
        "steps": steps,
        "compile_seconds": round(result.trace_seconds, 2),
        "seconds_per_step": round(result.seconds / steps, 3),
    }


def mnist_end_to_end(mnist_h5: str, model_path: str) -> dict:
    from fooled import h5io, losses, mnist_patches, models

    arrays = h5io.read_arrays(
        mnist_h5, ["train/images", "train/labels", "test/images", "test/labels"]
    )
    started = time.perf_counter()
    labels = arrays["test/labels"]
    seed_image = arrays["test/images"][np.flatnonzero(labels == 3)[0]]
    target_image = arrays["test/images"][np.flatnonzero(labels == 7)[0]]
    found = mnist_patches.mnist_sources(
        arrays["train/images"],
        arrays["train/labels"],
        seed_image,
        size=8,
        stride=2,
        n_images=6000,
        sample_seed=0,
        grid=11,
        step=2,
        window=16,
    )
    sources_seconds = time.perf_counter() - started
    handle = models.LayerHandle(models.load_model(model_path), "fc1")
    target = handle.preact_numpy(models.to_pixels(target_image[None]))[0]
    units = losses.negative_units(target, 5)
    settings = composites.MacroSettings(
        boundaries=(220, 320, 470, 700, 900, 1100, 1300),
        max_steps=2000,
        chunk_steps=250,
        checkpoint_every=0,
    )

    def preact(images):
        return handle.preact(tf.reshape(images, [tf.shape(images)[0], -1]))

    finder = composites.MacroCollisionFinder(preact, found.sources / 255.0, chunk_steps=250)
    result = finder.find(composites.initial_logits(found.weights), target, units, settings)
    return {
        "sources_seconds": round(sources_seconds, 2),
        "compile_seconds": round(result.trace_seconds, 2),
        "optimise_seconds": round(result.seconds, 2),
        "seconds_per_step": round(result.seconds / 2000, 4),
        "final_loss_pos": np.round(result.loss_pos[-1], 2).tolist(),
        "total_seconds": round(time.perf_counter() - started, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=625)
    parser.add_argument("--corners", type=int, default=5)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--mnist", nargs=2, metavar=("MNIST_H5", "MODEL"))
    args = parser.parse_args()
    devices = [d.device_type for d in tf.config.list_physical_devices()]
    print(json.dumps({"host": platform.node(), "devices": devices}))
    if args.mnist:
        print(json.dumps({"mnist_macro": mnist_end_to_end(*args.mnist)}))
        return
    measured = vgg_step_seconds(args.sources, args.corners, args.steps, args.size)
    print(json.dumps({"vgg16_macro": measured}))
    if args.sources < 625:
        print(
            "EXTRAPOLATION (not measured): the composite's cost grows linearly with the "
            "number of sources; see the README for the measured 625-source figure where one fits."
        )


if __name__ == "__main__":
    main()

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
from fooled.core.config import schema_defaults
from fooled.data import mnist_patches
from fooled.data.mnist import read_mnist, to_pixels
from fooled.models import runtime, vgg16
from fooled.models.handle import ModelHandle

MNIST_STUDY = "studies/collisions_mnist.schema.yaml"
IMAGENET_STUDY = "studies/collisions_imagenet.schema.yaml"


def vgg_step_seconds(n_sources: int, corners: int, steps: int, size: int) -> dict:
    model = vgg16.build_model("vgg16", "random", input_size=size, seed=0)
    handle = ModelHandle(model, "fc1", "vgg16")
    rng = np.random.default_rng(0)
    sources = rng.uniform(0, 255, (n_sources, size, size, 3)).astype(np.float32)
    target = handle.preact_numpy(sources[:1])[0]
    units = [int(u) for u in np.flatnonzero(target < 0)[:corners]]
    weights = rng.uniform(0.1, 1, (n_sources, size, size))
    weights /= weights.sum(axis=0, keepdims=True)
    settings = composites.MacroSettings.from_config(
        schema_defaults(IMAGENET_STUDY, "defaults", "macro")
        | {"n_corners": corners, "max_steps": steps, "chunk_steps": steps, "checkpoint_every": 0}
    )
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
    """The MNIST macro experiment's settings (the study's defaults) on the paper's pair."""
    arrays = read_mnist(mnist_h5)
    started = time.perf_counter()
    labels = arrays["test/labels"]
    seed_image = arrays["test/images"][np.flatnonzero(labels == 3)[0]]
    target_image = arrays["test/images"][np.flatnonzero(labels == 7)[0]]
    patches = schema_defaults(MNIST_STUDY, "mnist_patches")
    found = mnist_patches.mnist_sources(
        arrays["train/images"],
        arrays["train/labels"],
        seed_image,
        size=patches["size"],
        stride=patches["stride"],
        n_images=patches["n_images"],
        sample_seed=patches["seed"],
        grid=patches["grid"],
        step=patches["step"],
        window=patches["window"],
    )
    sources_seconds = time.perf_counter() - started
    handle = ModelHandle(runtime.load_model(model_path), "fc1")
    defaults = schema_defaults(MNIST_STUDY, "defaults", "macro")
    settings = composites.MacroSettings.from_config(defaults | {"checkpoint_every": 0})
    collision = composites.MacroComposites(settings).run(
        handle, found.sources / 255.0, found.weights, to_pixels(target_image[None])[0]
    )
    result = collision.trace
    return {
        "sources_seconds": round(sources_seconds, 2),
        "compile_seconds": round(result.trace_seconds, 2),
        "optimise_seconds": round(result.seconds, 2),
        "seconds_per_step": round(result.seconds / settings.max_steps, 4),
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

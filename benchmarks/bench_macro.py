"""Speed of the macro-level method: seconds per optimisation step, VGG-16 at FC-6.

    python benchmarks/bench_macro.py --sources 625 --corners 5 --steps 3
    python benchmarks/bench_macro.py --mnist MNIST_H5 MODEL_KERAS   # the MNIST macro experiment

VGG-16 has random weights here (the speed does not depend on them); the sources
are random 224x224 images. One compiled chunk of ``--steps`` steps is timed
after a zero-step call that pays for XLA compilation. ``--sources`` below 625
measures a smaller problem and prints a linear extrapolation of the composite's
share to 625 sources, clearly labelled as such.

``--mnist`` runs the default configuration's macro experiment (``macro_3_to_7``)
through the workflow's own stage functions, ``mnist_sources`` and
``collide_macro`` (its interpolations included), in a temporary folder, with
the model's ``metrics.h5`` from beside the model (or ``--metrics``), and
prints the times the stages record; ``--max-steps`` shortens the optimisation.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import tensorflow as tf

from fooled.attacks import composites
from fooled.core import h5io
from fooled.core.config import Schemas, load_config, read_yaml, schema_defaults
from fooled.core.stage import Job
from fooled.models import vgg16
from fooled.models.handle import ModelHandle
from fooled.studies.collisions import sources_mnist, stages_mnist

ROOT = Path(__file__).resolve().parents[1]
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


def mnist_end_to_end(
    mnist_h5: str, model_path: str, metrics_path: str | None, max_steps: int | None
) -> dict:
    """The default run's MNIST macro experiment, by the workflow's own stages (rules
    mnist_sources and collide_macro) in a temporary folder; the figures they record."""
    config, experiments = load_config(
        read_yaml(ROOT / "config" / "config.yaml"), Schemas(ROOT / "workflow" / "schemas"), [ROOT]
    )
    study = config["studies"]["collisions_mnist"]
    name, experiment = next(
        (name, settings)
        for name, settings in experiments["collisions_mnist"].items()
        if settings["mode"] == "macro"
    )
    if max_steps is not None:
        experiment = experiment | {"max_steps": max_steps}
    metrics = metrics_path or str(Path(model_path).with_name("metrics.h5"))
    shared = {"mnist": mnist_h5, "metrics": metrics}
    logger = logging.getLogger("bench_macro")
    with tempfile.TemporaryDirectory() as folder:
        out = {stage: str(Path(folder) / f"{stage}.h5") for stage in ("sources", "collide")}
        started = time.perf_counter()
        sources_mnist.mnist_sources(
            Job.make(
                input=shared,
                output={"sources": out["sources"]},
                params={"patches": study["mnist_patches"], "seed": experiment["seed"]},
                wildcards={"experiment": name},
            ),
            logger,
        )
        sources_seconds = time.perf_counter() - started
        stages_mnist.collide_macro(
            Job.make(
                input=shared | {"sources": out["sources"], "model": model_path},
                output={"collide": out["collide"], "interpolate": f"{folder}/interpolate.h5"},
                params={
                    "experiment": experiment,
                    "interpolate": study["interpolate"],
                    "checkpoint": f"{folder}/checkpoint.h5",
                },
                wildcards={"experiment": name},
            ),
            logger,
        )
        total = time.perf_counter() - started
        attrs = h5io.read_attrs(out["collide"])
        loss_pos = h5io.read_arrays(out["collide"], ["loss_pos"])["loss_pos"]
        n_sources = int(h5io.read_attrs(out["sources"])["n_sources"])
    return {
        "experiment": name,
        "sources": n_sources,
        "sources_seconds": round(sources_seconds, 2),
        "compile_seconds": round(float(attrs["trace_seconds"]), 2),
        "optimise_seconds": round(float(attrs["seconds"]), 2),
        "seconds_per_step": round(float(attrs["seconds"]) / int(attrs["steps_run"]), 4),
        "final_loss_pos": np.round(loss_pos[-1], 2).tolist(),
        "total_seconds": round(total, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=625)
    parser.add_argument("--corners", type=int, default=5)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--mnist", nargs=2, metavar=("MNIST_H5", "MODEL"))
    parser.add_argument(
        "--metrics", help="the model's metrics.h5 (test predictions; default: beside MODEL)"
    )
    parser.add_argument("--max-steps", type=int, help="--mnist: optimisation steps (default: all)")
    args = parser.parse_args()
    devices = [d.device_type for d in tf.config.list_physical_devices()]
    print(json.dumps({"host": platform.node(), "devices": devices}))
    if args.mnist:
        measured = mnist_end_to_end(*args.mnist, args.metrics, args.max_steps)
        print(json.dumps({"mnist_macro": measured}))
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

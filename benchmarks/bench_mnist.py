"""Speed of the MNIST micro-level study: the figures recorded in the README.

Prints, on this machine, with the trained model of the default workflow
(run `snakemake --cores all results/models/mlp/model.keras` first):
- the paper's 3-to-7 case: five corners to L_pos < 5 (optimisation only;
  graph tracing and XLA compilation reported separately), steps and time per step;
- the collide stage of the whole default experiment list, in one process;
- 2,000 interpolations of the paper case's corners;
beside the paper's "under 30 minutes on an i7-4930K" for its five corners.

Each figure is the median of --repeats runs. TensorFlow is limited to
--threads threads (the workflow gives each collide job one).
"""

import argparse
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from fooled.attacks import collision_losses, corners  # noqa: E402
from fooled.core import h5io  # noqa: E402
from fooled.core.config import Schemas, load_config, read_yaml  # noqa: E402
from fooled.data.mnist import to_pixels  # noqa: E402
from fooled.models import runtime  # noqa: E402
from fooled.models.handle import ModelHandle  # noqa: E402
from fooled.studies.collisions import interpolation, pairs  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PAPER_SECONDS = 30 * 60


def _prepare(experiment, handle, images, labels, predicted):
    seed, target = pairs.pick_seed_and_target(experiment, labels, predicted)
    pixels = to_pixels(images[[seed, target]])
    preact_target = handle.preact_numpy(pixels[1:])[0]
    return (
        pixels[0],
        preact_target,
        collision_losses.negative_units(preact_target, experiment["n_corners"]),
        corners.CornerSettings.from_config(experiment),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--workdir", default=str(ROOT), help="folder holding results/ and resources/"
    )
    parser.add_argument("--config", default=str(ROOT / "config" / "config.yaml"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    arguments = parser.parse_args()
    workdir = Path(arguments.workdir)
    runtime.limit_threads(arguments.threads)

    config, all_experiments = load_config(
        read_yaml(arguments.config), Schemas(ROOT / "workflow" / "schemas"), [workdir, ROOT]
    )
    study = config["studies"]["collisions_mnist"]
    experiments = {
        name: settings
        for name, settings in all_experiments["collisions_mnist"].items()
        if settings["mode"] == "micro"
    }
    data = h5io.read_arrays(workdir / "resources/mnist/mnist.h5", ["test/images", "test/labels"])
    predicted = h5io.read_arrays(workdir / "results/models/mlp/metrics.h5", ["test/predicted"])[
        "test/predicted"
    ]
    model = runtime.load_model(workdir / "results/models/mlp/model.keras")
    handles = {}

    def finder_for(layer):
        if layer not in handles:
            handle = ModelHandle(model, layer)
            handles[layer] = (handle, corners.MicroCollisionFinder(handle.preact))
        return handles[layer]

    print(f"# MNIST micro-level benchmark ({os.cpu_count()} cores, TF threads {arguments.threads})")
    paper = experiments[study["paper_case"]]
    handle, finder = finder_for(paper["layer"])
    seed, preact_target, units, settings = _prepare(
        paper, handle, data["test/images"], data["test/labels"], predicted
    )
    runs = [finder.find(seed, preact_target, units, settings) for _ in range(arguments.repeats)]
    seconds = statistics.median(run.seconds for run in runs)
    steps = runs[0].steps_run
    print(
        f"paper case ({study['paper_case']}): {len(units)} corners, {steps} steps, "
        f"converged {int(runs[0].converged.sum())}/{len(units)}"
    )
    print(
        f"  optimisation            {seconds:.4f} s  ({1000 * seconds / max(steps, 1):.3f} ms/step)"
    )
    print(f"  tracing + XLA compile   {runs[0].trace_seconds:.2f} s (first call only)")
    print(
        f"  paper (i7-4930K)        < {PAPER_SECONDS} s  -> {PAPER_SECONDS / seconds:,.0f}x faster"
    )

    totals, tracing, steps_total = [], 0.0, 0
    for repeat in range(arguments.repeats):
        total = 0.0
        for experiment in experiments.values():
            handle, finder = finder_for(experiment["layer"])
            prepared = _prepare(
                experiment, handle, data["test/images"], data["test/labels"], predicted
            )
            run = finder.find(*prepared)
            total += run.seconds
            if repeat == 0:
                tracing += run.trace_seconds
                steps_total += run.steps_run
        totals.append(total)
    print(
        f"collide stage, all {len(experiments)} experiments: {statistics.median(totals):.3f} s "
        f"optimisation ({steps_total} steps), {tracing:.2f} s tracing/compilation"
    )

    found = runs[0].corners
    timings = []
    for _ in range(arguments.repeats):
        started = time.perf_counter()
        interpolation.check_interpolations(
            found,
            int(handle.probabilities_numpy(found[:1]).argmax()),
            handle.probabilities_numpy,
            n_samples=study["interpolate"]["n_samples"],
            seed=study["interpolate"]["seed"],
        )
        timings.append(time.perf_counter() - started)
    print(
        f"{study['interpolate']['n_samples']} interpolations (weights + model): "
        f"{statistics.median(timings):.4f} s"
    )


if __name__ == "__main__":
    main()

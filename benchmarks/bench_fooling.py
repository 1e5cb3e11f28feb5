"""Speed of the fooling study's evolution: generations per second for both encodings.

The target (issue 13): the direct encoding on the MNIST LeNet with the
authors' population of 200 runs 200 generations in at most 30 s on a 2-core
machine (the authors' README: about 5 minutes on 4 cores). Prints, for each
encoding, the whole run's generations per second and where a generation's
time goes (mutation, rendering, the batched forward pass), each the median of
--repeats measurements, and how many classes reached 99.99%.

The network is --model (a .keras file) or, without one, a LeNet trained here
with the schema's quick settings on MNIST from MNIST_MIRROR (speed does not
depend on the weights; the classes reached do).

    PYTHONPATH=src nice -n 19 python benchmarks/bench_fooling.py --threads 2
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from fooled.attacks.encodings import make_encoding  # noqa: E402
from fooled.attacks.evolution import EvolutionSettings, MapElites  # noqa: E402
from fooled.core import h5io  # noqa: E402
from fooled.core.config import schema_defaults  # noqa: E402
from fooled.core.stage import Job  # noqa: E402
from fooled.data import stages as data_stages  # noqa: E402
from fooled.models import stages as model_stages  # noqa: E402
from fooled.models.handle import ModelHandle  # noqa: E402
from fooled.models.runtime import limit_threads, load_model, make_deterministic  # noqa: E402

LOGGER = logging.getLogger("bench_fooling")
TARGET_SECONDS = 30.0
AUTHORS_SECONDS = 300.0  # their README: ~5 minutes for 200 MNIST generations on 4 cores


def quick_lenet(folder: Path, threads: int) -> ModelHandle:
    """A LeNet made by the workflow's own stages: MNIST from ``folder`` (rule download_mnist),
    trained with the schema's quick settings (rule train_lenet)."""
    work = Path(tempfile.mkdtemp())
    os.environ["MNIST_MIRROR"] = str(folder)  # how the workflow is pointed at a local copy
    mnist, model, metrics = (str(work / name) for name in ("mnist.h5", "lenet.keras", "lenet.h5"))
    download = {"settings": schema_defaults("datasets/mnist.schema.yaml")}
    data_stages.download_mnist(Job.make(output={"mnist": mnist}, params=download), LOGGER)
    model_stages.train_lenet(
        Job.make(
            input={"mnist": mnist},
            output={"model": model, "metrics": metrics},
            params={"settings": schema_defaults("models/lenet.schema.yaml")},
            threads=threads,
        ),
        LOGGER,
    )
    accuracy = h5io.read_attrs(metrics)["test_accuracy"]
    print(f"# LeNet trained here: test accuracy {100 * accuracy:.2f}%")
    return ModelHandle(load_model(model))


def parts(attack: MapElites, model: ModelHandle, population: int, repeats: int) -> dict:
    """Median seconds of one generation's mutation, rendering and forward pass."""
    rng = np.random.default_rng(0)
    genomes = attack.encoding.random(rng, population)
    for generation in range(1, 21):  # grow CPPNs a little, as in a run
        genomes = attack.encoding.mutate(genomes, rng, generation)
    images = attack.images(genomes)
    score = attack._scorer(model)
    score(tf.constant(images))  # trace once
    timings = {"mutate": [], "render": [], "forward": []}
    for _ in range(repeats):
        started = time.perf_counter()
        attack.encoding.mutate(genomes, rng, 21)
        timings["mutate"].append(time.perf_counter() - started)
        started = time.perf_counter()
        attack.images(genomes)
        timings["render"].append(time.perf_counter() - started)
        started = time.perf_counter()
        np.asarray(score(tf.constant(images))[0])
        timings["forward"].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in timings.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="an MNIST .keras model (default: train a quick LeNet)")
    parser.add_argument(
        "--mnist", default=os.environ.get("MNIST_MIRROR", ""), help="MNIST .gz folder"
    )
    parser.add_argument("--population", type=int, default=200)
    parser.add_argument("--generations", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=20, help="measurements per part")
    parser.add_argument("--runs", type=int, default=1, help="whole runs per encoding (median)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--encodings", nargs="+", default=["direct", "cppn"])
    arguments = parser.parse_args()
    limit_threads(arguments.threads)
    make_deterministic(0)
    if arguments.model:
        model = ModelHandle(load_model(arguments.model))
    elif arguments.mnist:
        model = quick_lenet(Path(arguments.mnist), arguments.threads)
    else:
        sys.exit("give --model or --mnist (or set MNIST_MIRROR)")

    defaults = schema_defaults("studies/fooling.schema.yaml", "defaults", "evolve")
    settings = {
        **defaults,
        "population_size": arguments.population,
        "generations": arguments.generations,
        "checkpoint_every": 0,
    }
    print(
        f"# fooling evolution benchmark: {os.cpu_count()} cores, TF threads {arguments.threads}, "
        f"population {arguments.population}, {arguments.generations} generations"
    )
    print("encoding  seconds  generations/s  mutate_ms  render_ms  forward_ms  classes>=99.99%")
    for name in arguments.encodings:
        encoding = make_encoding(name, settings[name], (28, 28))
        attack = MapElites(EvolutionSettings.from_config(settings), encoding)
        warm = MapElites(EvolutionSettings.from_config({**settings, "generations": 2}), encoding)
        warm.run(model, 0)  # trace the forward pass outside the timing
        runs = [attack.run(model, seed) for seed in range(arguments.runs)]
        seconds = statistics.median(run.seconds for run in runs)
        at_top = statistics.median(int((run.threshold_generation[-1] >= 0).sum()) for run in runs)
        timing = parts(attack, model, arguments.population, arguments.repeats)
        print(
            f"{name:<8}  {seconds:7.2f}  {arguments.generations / seconds:13.1f}  "
            f"{1e3 * timing['mutate']:9.2f}  {1e3 * timing['render']:9.2f}  "
            f"{1e3 * timing['forward']:10.2f}  {at_top:15}"
        )
        if name == "direct" and arguments.population == 200 and arguments.generations == 200:
            verdict = "meets" if seconds <= TARGET_SECONDS else "MISSES"
            print(
                f"# direct, population 200, 200 generations: {seconds:.1f} s {verdict} the "
                f"{TARGET_SECONDS:.0f}-s target (authors' README: ~{AUTHORS_SECONDS:.0f} s "
                "on 4 cores)"
            )


if __name__ == "__main__":
    main()

"""Run the fooling study's stage functions in one process, without Snakemake, and time them.

What the workflow's rules do, job by job, for one configuration: train the
networks the experiments name (LeNet with ``models.lenet``, the MLP with
``models.mlp``), every evolve run, every ascent, every retraining, then the
report section. Each stage's CPU and wall seconds are printed, so the quick
scale's share of the default run can be checked; the artifacts land under
--out in the layout of docs/studies/fooling.md.

    PYTHONPATH=src nice -n 19 python benchmarks/fooling_study.py --out /tmp/fooling-quick \\
        --mnist resources/mnist/mnist.h5 --lists config/studies/fooling/quick.yaml
    PYTHONPATH=src nice -n 19 python benchmarks/fooling_study.py --out /tmp/fooling-paper \\
        --mnist resources/mnist/mnist.h5 --config config/fooling.yaml

``--mnist`` is the workflow's MNIST artifact (rule download_mnist) or a
folder with the four IDX .gz files.
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from fooled.core.config import (  # noqa: E402
    deep_merge,
    load_experiments,
    project_schemas,
    read_yaml,
    schema_defaults,
)
from fooled.core.stage import Job  # noqa: E402
from fooled.data import stages as data_stages  # noqa: E402
from fooled.models import stages as model_stages  # noqa: E402
from fooled.studies.fooling import stages  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LOGGER = logging.getLogger("fooling")


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(name: str, function) -> None:
    cpu, wall = cpu_seconds(), time.perf_counter()
    function()
    print(f"{name:<32} wall {time.perf_counter() - wall:7.1f} s  cpu {cpu_seconds() - cpu:7.1f} s")


def mnist_artifact(source: Path, out: Path) -> Path:
    """The MNIST artifact: ``source`` itself, or made from the folder ``source`` by the
    workflow's rule download_mnist (pointed at it as the workflow is, by MNIST_MIRROR)."""
    if source.is_file():
        return source
    os.environ["MNIST_MIRROR"] = str(source)
    path = out / "mnist.h5"
    settings = {"settings": schema_defaults("datasets/mnist.schema.yaml")}
    data_stages.download_mnist(Job.make(output={"mnist": str(path)}, params=settings), LOGGER)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--mnist", required=True)
    parser.add_argument("--config", help="a --configfile such as config/fooling.yaml")
    parser.add_argument("--lists", nargs="*", help="experiment lists (default: the config's)")
    parser.add_argument("--threads", type=int, default=2)
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    out = Path(arguments.out)
    out.mkdir(parents=True, exist_ok=True)
    config = read_yaml(arguments.config) if arguments.config else {}
    schemas = project_schemas()
    schema, base = schemas.at("studies/fooling.schema.yaml")
    section = schemas.fill_defaults(config.get("studies", {}).get("fooling", {}), schema, base)
    if arguments.lists:
        section["experiment_lists"] = arguments.lists
    experiments = load_experiments("fooling", section, schemas, [ROOT])
    models = config.get("models", {})
    model_settings = {
        "lenet": deep_merge(schema_defaults("models/lenet.schema.yaml"), models.get("lenet", {})),
        "mlp": deep_merge(schema_defaults("models/mlp.schema.yaml"), models.get("mlp", {})),
    }
    imagenet = deep_merge(
        schema_defaults("models/imagenet.schema.yaml"), models.get("imagenet", {})
    )
    mnist = str(mnist_artifact(Path(arguments.mnist), out))
    threads = arguments.threads

    needed = {experiment["model"] for experiment in experiments.values()} - {"vgg16"}
    trainers = {"lenet": model_stages.train_lenet, "mlp": model_stages.train_mlp}
    for model in sorted(needed):
        job = Job.make(
            input={"mnist": mnist},
            output={"model": str(out / f"{model}.keras"), "metrics": str(out / f"{model}.h5")},
            params={"settings": model_settings[model]},
            threads=threads,
        )
        timed(f"train {model}", lambda job=job, model=model: trainers[model](job, LOGGER))

    produced: dict[str, list[str]] = {"evolve": [], "ascend": [], "retrain": []}
    for name, experiment in experiments.items():
        model_input = {"model": str(out / f"{experiment['model']}.keras"), "mnist": mnist}
        extra = {}
        if experiment["model"] == "vgg16":  # random weights unless the config names a file
            model_input, extra = {}, {"imagenet": imagenet}
        if experiment["mode"] == "evolve":
            for run in range(experiment["runs"]):
                result = str(out / "evolve" / f"{name}_{run}.h5")
                job = Job.make(
                    input=model_input,
                    output={"result": result},
                    params={"settings": experiment, **extra},
                    wildcards={"run": str(run)},
                    threads=threads,
                )
                timed(f"evolve {name} {run}", lambda job=job: stages.evolve(job, LOGGER))
                produced["evolve"].append(result)
        else:
            result = str(out / experiment["mode"] / f"{name}.h5")
            params = {"settings": experiment, **extra}
            if experiment["mode"] == "retrain":
                params["evolve"] = section["defaults"]["evolve"]
            job = Job.make(
                input=model_input, output={"result": result}, params=params, threads=threads
            )
            stage = getattr(stages, experiment["mode"])
            timed(f"{experiment['mode']} {name}", lambda job=job, stage=stage: stage(job, LOGGER))
            produced[experiment["mode"]].append(result)

    job = Job.make(
        input={
            **produced,
            **{f"metrics_{model}": str(out / f"{model}.h5") for model in sorted(needed)},
        },
        output={"html": str(out / "fooling.html"), "summary": str(out / "fooling.json")},
        params={"report": section["report"]},
    )
    timed("report", lambda: stages.report_section(job, LOGGER))


if __name__ == "__main__":
    main()

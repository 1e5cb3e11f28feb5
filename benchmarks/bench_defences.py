"""Speed of the defences study: every stage as the workflow runs it, one process per job.

Runs the six stage functions (fgsm, adversarial_training, autoencoder,
score, adaptive, report) in a working folder that holds the shared inputs
(MNIST and the MLP) and whatever artifacts of the other studies are present
(found through the study registry, as the study's layout names them), wired
as the study's rules wire them (``stages.plan_jobs``), each in a fresh Python
process so that
TensorFlow's start-up is counted per job, as under Snakemake. Prints, per
stage, wall-clock and CPU seconds (user + system of the process), and the
figures the stages record themselves: FGSM attack time, autoencoder and
adversarial training time, and the score stage's time for all kinds
(TensorFlow start-up and model loading excluded).

    PYTHONPATH=src nice -n 19 python benchmarks/bench_defences.py --work /path/to/run
    PYTHONPATH=src nice -n 19 python benchmarks/bench_defences.py --work /path/to/run \
        --config config/defences.yaml

``--config`` merges a config file's ``studies.defences`` over the schema's
defaults (the quick scale when absent).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = Path(__file__).resolve().parents[1]


def _settings(config: str | None) -> dict:
    import yaml

    from fooled.studies.defences.stages import study_settings

    section = {}
    if config:
        loaded = yaml.safe_load(Path(config).read_text()) or {}
        section = loaded.get("studies", {}).get("defences", {})
    return study_settings(section, config or "defaults")


def planned_jobs(settings: dict, work: Path, threads: int) -> dict:
    """The study's jobs on what lies in ``work``, wired as its rules wire them."""
    from fooled.studies import registry
    from fooled.studies.defences import stages

    wanted = settings["adaptive"]["collision_experiments"]
    only = None if wanted is None else {"collisions": wanted, "sources": wanted}
    return stages.plan_jobs(
        settings,
        registry.find_inputs("defences", str(work)),
        work,
        threads,
        redo=registry.find_inputs("defences", str(work), only),
        siblings=registry.siblings,
    )


def child(stage: str, work: Path, config: str | None, threads: int) -> None:
    """Run one stage in this process (what a workflow job does)."""
    from fooled.studies.defences import stages

    logging.basicConfig(level=logging.INFO, format=f"{stage}: %(message)s", stream=sys.stderr)
    job = planned_jobs(_settings(config), work, threads)[stage]
    getattr(stages, stage)(job, logging.getLogger(stage))


def _cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def recorded_figures(work: Path) -> dict[str, float]:
    """The timings the stages record in their artifacts."""
    from fooled.core import h5io
    from fooled.studies.defences.layout import LAYOUT

    files = LAYOUT.under(work)
    figures = {}
    for key, artifact, attribute in (
        ("fgsm attack (s)", "fgsm", "seconds"),
        ("adversarial training (s)", "adversarial_metrics", "seconds"),
        ("autoencoder training (s)", "errors", "seconds"),
        ("score, all kinds (s)", "score", "seconds"),
    ):
        path = Path(files.path(artifact))
        if path.is_file():
            figures[key] = float(h5io.read_attrs(path)[attribute])
    score = Path(files.path("score"))
    if score.is_file():
        attrs = h5io.read_attrs(score)
        rows = attrs["sets"]
        figures["score: sets"] = len(rows)
        figures["score: images"] = sum(row["n"] for row in rows)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", required=True, help="folder holding resources/ and results/")
    parser.add_argument("--config", help="a config file whose studies.defences section to use")
    parser.add_argument("--stages", nargs="*", help="stages to run (default: all, in order)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", help="also write the figures to this JSON file")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    work = Path(arguments.work).resolve()
    if arguments.child:
        child(arguments.child, work, arguments.config, arguments.threads)
        return

    from fooled.studies.defences.stages import STAGES

    stages = arguments.stages or list(STAGES)
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(
        part for part in (str(ROOT / "src"), environment.get("PYTHONPATH")) if part
    )
    rows = []
    print(f"# defences benchmark: {work} ({os.cpu_count()} cores, {arguments.threads} threads)")
    for stage in stages:
        command = [sys.executable, __file__, "--work", str(work), "--child", stage]
        command += ["--threads", str(arguments.threads)]
        if arguments.config:
            command += ["--config", arguments.config]
        cpu_before, started = _cpu_children(), time.perf_counter()
        completed = subprocess.run(command, env=environment, capture_output=True, text=True)
        wall, cpu = time.perf_counter() - started, _cpu_children() - cpu_before
        if completed.returncode != 0:
            sys.exit(f"stage {stage} failed:\n{completed.stderr[-3000:]}")
        rows.append({"stage": stage, "wall_seconds": wall, "cpu_seconds": cpu})
        print(f"{stage:22s} wall {wall:6.1f} s   cpu {cpu:6.1f} s", flush=True)
    total_wall = sum(row["wall_seconds"] for row in rows)
    total_cpu = sum(row["cpu_seconds"] for row in rows)
    print(f"{'total':22s} wall {total_wall:6.1f} s   cpu {total_cpu:6.1f} s")
    figures = recorded_figures(work)
    for key, value in figures.items():
        print(f"{key:28s} {value:.2f}" if isinstance(value, float) else f"{key:28s} {value}")
    if arguments.json:
        Path(arguments.json).write_text(
            json.dumps({"stages": rows, "recorded": figures}, indent=2) + "\n"
        )


if __name__ == "__main__":
    main()

"""Wall time of a whole run: the default run (what `make reproduce` runs once packages are
installed) or, with the paper-scale config files, `make paper` (`make bench-paper`).

    python benchmarks/bench_workflow.py [--cores 2] [--repeats 1] [--configfile X ...] [--keep DIR]
    python benchmarks/bench_workflow.py --from DIR     # the per-rule and per-study figures again

Each repeat runs `snakemake --cores N` from scratch in a new folder beside nothing but a copy
of MNIST (so the download is a local copy, as with MNIST_MIRROR), and prints the wall time,
the CPU time of all jobs, the number of jobs, per rule the jobs' summed wall time from
their `benchmark:` files, and the jobs' start-up: each job's log records how long its
process ran before its stage began (interpreter, Snakemake's preamble, imports) and whether
TensorFlow was loaded by then. Per study (the rule file that declares each rule: a study's
own, or the shared layers'), it prints the jobs, their summed wall and CPU time and the
span from its first job's start to its last job's end (from the `benchmark:` files' times).
Run it on an otherwise idle machine: the figure is the whole
workflow's, start-up of every job included.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The lines fooled.core.stage.stage_log writes at the top and the end of every job's log.
STARTUP = re.compile(r"start-up ([0-9.]+) s .*TensorFlow loaded: (yes|no)")
FINISHED = re.compile(r"stage took [0-9.]+ s \(TensorFlow loaded: (yes|no)\)")


def startups(logs: Path) -> list[tuple[float, bool, bool]]:
    """Each job's start-up (s) from its log, whether TensorFlow was loaded before its stage
    began, and whether it was by the end (stages that import it lazily load it inside)."""
    found = []
    for path in logs.rglob("*.log"):
        text = path.read_text(errors="replace")
        started, finished = STARTUP.search(text), FINISHED.search(text)
        if started and finished:
            found.append(
                (float(started.group(1)), started.group(2) == "yes", finished.group(1) == "yes")
            )
    return found


RULE = re.compile(r"^rule (\w+):", re.M)


def rule_owners() -> dict[str, str]:
    """Each rule's home: the study whose rule file declares it, or `shared`/`report`."""
    owners = {}
    rules = ROOT / "workflow" / "rules"
    for path in sorted(rules.rglob("*.smk")):
        owner = path.stem if path.parent.name == "studies" else path.parent.name
        owner = "report" if path.stem == "report" else owner
        owners |= {name: owner for name in RULE.findall(path.read_text())}
    return owners


def job_times(folder: Path) -> list[dict]:
    """Every job's rule, wall and CPU seconds and end time, from its `benchmark:` file."""
    benchmarks = folder / "results" / "benchmarks"
    found = []
    for path in benchmarks.rglob("*.tsv"):
        with open(path) as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                cpu = row.get("cpu_time", "")
                found.append(
                    {
                        "rule": path.relative_to(benchmarks).parts[0],
                        "s": float(row["s"]),
                        "cpu": float(cpu) if cpu not in ("", "NA") else 0.0,
                        "end": path.stat().st_mtime,
                    }
                )
    return found


def study_table(jobs: list[dict]) -> list[str]:
    owners = rule_owners()
    studies: dict[str, list[dict]] = {}
    for job in jobs:
        studies.setdefault(owners.get(job["rule"], "?"), []).append(job)
    lines = [
        f"{'study':<22} {'jobs':>5} {'sum of job wall s':>18} {'job CPU s':>10} {'span min':>9}"
    ]
    for study, found in sorted(studies.items(), key=lambda item: -sum(j["s"] for j in item[1])):
        span = max(j["end"] for j in found) - min(j["end"] - j["s"] for j in found)
        lines.append(
            f"{study:<22} {len(found):>5} {sum(j['s'] for j in found):>18.1f} "
            f"{sum(j['cpu'] for j in found):>10.1f} {span / 60:>9.1f}"
        )
    return lines


def rule_table(jobs: list[dict]) -> list[str]:
    rules: dict[str, list[float]] = {}
    for job in jobs:
        rules.setdefault(job["rule"], []).append(job["s"])
    lines = [f"{'rule':<32} {'jobs':>5} {'sum of job wall s':>18} {'longest job s':>14}"]
    for rule, times in sorted(rules.items(), key=lambda item: -sum(item[1])):
        lines.append(f"{rule:<32} {len(times):>5} {sum(times):>18.1f} {max(times):>14.1f}")
    return lines


def tensorflow_import_seconds(repeats: int = 3) -> float:
    """Median wall time of `import tensorflow` in a fresh interpreter (what a job that loads
    it pays, whether before or during its stage)."""
    code = "import time; t = time.perf_counter(); import tensorflow; print(time.perf_counter() - t)"
    times = [
        float(
            subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            ).stdout.split()[-1]
        )
        for _ in range(repeats)
    ]
    return statistics.median(times)


def run_once(folder: Path, cores: int, configfiles: list[str], target: list[str]) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    command = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(ROOT / "Snakefile"),
        "--directory",
        str(folder),
        "--cores",
        str(cores),
        "--quiet",
    ]
    if configfiles:
        command += ["--configfile", *configfiles]
    command += target
    run = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if run.returncode != 0:
        raise SystemExit(f"snakemake failed:\n{run.stderr[-3000:]}")
    jobs = job_times(folder)
    return {
        "wall": wall,
        "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        "jobs": len(jobs),
        "times": jobs,
        "startups": startups(folder / "logs"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cores", type=int, default=os.cpu_count())
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--configfile", nargs="*", default=[str(ROOT / "config" / "config.yaml")])
    parser.add_argument("--mnist", default=os.environ.get("MNIST_MIRROR", ""))
    parser.add_argument("--keep", help="run in this folder and keep it (one repeat)")
    parser.add_argument("--from", dest="kept", help="print the figures of a kept run's folder")
    parser.add_argument("target", nargs="*", default=[])
    arguments = parser.parse_args()
    if arguments.kept:
        jobs = job_times(Path(arguments.kept))
        print(f"{arguments.kept}: {len(jobs)} jobs")
        print("\n".join(study_table(jobs) + rule_table(jobs)))
        return
    environment = os.environ
    if arguments.mnist:
        environment["MNIST_MIRROR"] = str(Path(arguments.mnist).resolve())
    results = []
    for _ in range(arguments.repeats):
        if arguments.keep:
            folder = Path(arguments.keep)
            folder.mkdir(parents=True, exist_ok=True)
            results.append(
                run_once(folder, arguments.cores, arguments.configfile, arguments.target)
            )
        else:
            with tempfile.TemporaryDirectory(prefix="bench-workflow-") as name:
                results.append(
                    run_once(Path(name), arguments.cores, arguments.configfile, arguments.target)
                )
    walls = [r["wall"] for r in results]
    print(
        f"run, {arguments.cores} cores, {len(results)} run(s): wall "
        f"{statistics.median(walls):.1f} s (min {min(walls):.1f}, max {max(walls):.1f}), "
        f"CPU {statistics.median(r['cpu'] for r in results):.1f} s, {results[0]['jobs']} jobs"
    )
    jobs = results[0]["startups"]
    before = [seconds for seconds, early, _ in jobs]
    with_tf = sum(1 for _, _, late in jobs if late)
    lazy = sum(1 for _, early, late in jobs if late and not early)
    importing = tensorflow_import_seconds()
    print(
        f"start-up before the stage, {len(jobs)} script jobs: {sum(before):.1f} s in all, "
        f"median {statistics.median(before):.2f} s per job"
    )
    print(
        f"{with_tf} jobs loaded TensorFlow ({lazy} of them inside their stage); "
        f"`import tensorflow` takes {importing:.2f} s here (median of 3), "
        f"about {with_tf * importing:.0f} s of the run's CPU time"
    )
    print("\n".join(study_table(results[0]["times"]) + rule_table(results[0]["times"])))


if __name__ == "__main__":
    main()

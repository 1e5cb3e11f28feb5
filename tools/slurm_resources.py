"""The SLURM profile's per-rule memory and run time, from measured `benchmark:` files.

Every rule writes a Snakemake benchmark file (``results/benchmarks/<rule>/<job>.tsv``:
seconds, peak RSS, ...). This tool keeps the largest figures per rule in
``workflow/profiles/slurm/measured.tsv`` (with the run they came from) and writes the
profile's ``set-resources`` block from that table, with a stated margin, so no number in
the profile is a guess:

    python tools/slurm_resources.py record results/benchmarks --run "default run"
    python tools/slurm_resources.py write

``mem_mb`` = 2 x peak RSS + 512 MB, rounded up to 256 MB (at least 1 GB); ``runtime`` = 4 x
the longest job, in minutes (at least 10). Runs at paper scale (config/imagenet.yaml, the
studies' full configs) take longer and more memory than the runs measured here: record a
benchmark folder from such a run to raise the figures, or set them on the command line
(README, "Clusters (SLURM)").
"""

from __future__ import annotations

import argparse
import csv
import math
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MEASURED = ROOT / "workflow" / "profiles" / "slurm" / "measured.tsv"
PROFILE = ROOT / "workflow" / "profiles" / "slurm" / "config.yaml"
BEGIN = "# BEGIN set-resources (tools/slurm_resources.py write; do not edit by hand)"
END = "# END set-resources"
COLUMNS = ("rule", "jobs", "max_rss_mb", "max_seconds", "run")
# Rules that use a GPU when the node has one (FAISS, TensorFlow on VGG-16).
GPU_RULES = ("build_index", "evaluate_index", "query_sources", "collide_imagenet")


def collect(folder: Path) -> dict[str, dict[str, float]]:
    """Per rule: number of jobs, largest peak RSS (MB) and longest wall time (s)."""
    measured: dict[str, dict[str, float]] = {}
    for path in sorted(folder.rglob("*.tsv")):
        rule = path.relative_to(folder).parts[0]
        with open(path) as handle:
            rows = list(csv.DictReader(handle, delimiter="\t"))
        for row in rows:
            entry = measured.setdefault(rule, {"jobs": 0, "max_rss_mb": 0.0, "max_seconds": 0.0})
            entry["jobs"] += 1
            rss = float(row["max_rss"]) if row["max_rss"] not in ("", "NA", "-") else 0.0
            entry["max_rss_mb"] = max(entry["max_rss_mb"], rss)
            entry["max_seconds"] = max(entry["max_seconds"], float(row["s"]))
    return measured


def read_measured(path: Path = MEASURED) -> dict[str, dict[str, str]]:
    if not path.exists():
        return {}
    with open(path) as handle:
        rows = csv.DictReader((line for line in handle if not line.startswith("#")), delimiter="\t")
        return {row["rule"]: row for row in rows}


def write_measured(table: dict[str, dict[str, str]], path: Path = MEASURED) -> None:
    lines = [
        "# Largest peak RSS and longest wall time per rule, from Snakemake benchmark files",
        "# (tools/slurm_resources.py record); the SLURM profile's resources come from here.",
        "\t".join(COLUMNS),
    ]
    for rule in sorted(table):
        lines.append("\t".join(str(table[rule][column]) for column in COLUMNS))
    path.write_text("\n".join(lines) + "\n")


def resources(row: dict[str, str]) -> dict[str, int | str]:
    rss = float(row["max_rss_mb"])
    memory = max(1024, math.ceil((2 * rss + 512) / 256) * 256)
    minutes = max(10, math.ceil(4 * float(row["max_seconds"]) / 60))
    return {"mem_mb": memory, "runtime": f"{minutes}m"}


def profile_block(table: dict[str, dict[str, str]], threads: dict[str, int]) -> str:
    lines = [BEGIN, "set-resources:"]
    for rule in sorted(table):
        row = table[rule]
        values = resources(row)
        lines.append(
            f"  {rule}:  # measured: {float(row['max_rss_mb']):.0f} MB peak RSS, "
            f"{float(row['max_seconds']):.1f} s, {row['jobs']} jobs ({row['run']})"
        )
        if rule in GPU_RULES:
            lines.append("    gpu: 1")
        lines.append(f"    mem_mb: {values['mem_mb']}")
        lines.append(f"    runtime: {values['runtime']}")
        lines.append(f"    cpus_per_task: {threads.get(rule, 1)}")
    lines.append(END)
    return "\n".join(lines)


def set_threads(text: str) -> dict[str, int]:
    block = re.search(r"^set-threads:\n((?:  .+\n)+)", text, flags=re.M)
    if not block:
        return {}
    pairs = re.findall(r"^  (\w+): (\d+)", block.group(1), flags=re.M)
    return {rule: int(value) for rule, value in pairs}


def write_profile(path: Path = PROFILE, measured: Path = MEASURED) -> str:
    text = path.read_text()
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{path}: no '{BEGIN}' ... '{END}' block to replace")
    before, rest = text.split(BEGIN, 1)
    _, after = rest.split(END, 1)
    block = profile_block(read_measured(measured), set_threads(text))
    updated = before + block + after
    path.write_text(updated)
    return updated


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    record = commands.add_parser("record", help="add a run's benchmark folder to measured.tsv")
    record.add_argument("folder", type=Path)
    record.add_argument("--run", required=True, help="what was run, e.g. 'default run'")
    commands.add_parser("write", help="write the profile's set-resources from measured.tsv")
    arguments = parser.parse_args(argv)
    if arguments.command == "record":
        table = read_measured()
        for rule, entry in collect(arguments.folder).items():
            table[rule] = {
                "rule": rule,
                "jobs": int(entry["jobs"]),
                "max_rss_mb": f"{entry['max_rss_mb']:.1f}",
                "max_seconds": f"{entry['max_seconds']:.2f}",
                "run": arguments.run,
            }
        write_measured(table)
        print(f"{len(table)} rules in {MEASURED}", file=sys.stderr)
    else:
        write_profile()
        print(f"wrote {PROFILE}", file=sys.stderr)


if __name__ == "__main__":
    main()

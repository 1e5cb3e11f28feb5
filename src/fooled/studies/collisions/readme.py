"""The collisions_mnist study's part of the README, generated from a run's summary.json.

``tables`` gives the Markdown the README shows between its generated markers
(tools/readme_tables.py writes and checks them); ``KEY_NUMBERS`` names the
figures a fresh run must reproduce (tests/test_reproduce.py), each with the
tolerance that applies when the run's machine or numerics differ from the
reference run's (README, "Reproducibility").
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from typing import Any

from fooled.studies.collisions.paper import PAPER_TABLE1

STUDY = "collisions_mnist"
PAPER_VARIANTS = ("paper_3_to_7", "paper_3_to_7_literal", "paper_3_to_7_wpos3", "paper_3_to_7_adam")

# summary.json path -> tolerance on another machine (0: must be equal everywhere). Measured
# spread over the numerics we could vary here (oneDNN's instruction set, oneDNN on or off,
# thread counts): test accuracy 97.73-97.99%, paper-case corner distance 0.36-0.45, macro
# corner distance 0.65-1.41 (its rising learning rate makes it chaotic).
KEY_NUMBERS: dict[str, float] = {
    "collisions_mnist.model.mnist_mlp.test_accuracy": 0.005,
    "collisions_mnist.experiments.paper_3_to_7.dist_corners_mean": 0.15,
    "collisions_mnist.experiments.paper_3_to_7.dist_dataset_mean": 0.0,
    "collisions_mnist.experiments.paper_3_to_7.interp_top_class_accuracy": 0.0,
    "collisions_mnist.experiments.paper_3_to_7.corners_converged": 0.0,
    "collisions_mnist.experiments.macro_3_to_7.dist_corners_mean": 0.9,
    "collisions_mnist.experiments.macro_3_to_7.interp_top_class_accuracy": 0.0,
    "collisions_mnist.experiments.macro_3_to_7.corners_converged": 0.0,
}


def _row(name: str, record: Mapping[str, Any], accuracy: str) -> str:
    exact = record.get("exact") or {}
    certified = (
        f"{exact.get('lp_certified', 0)}/{exact.get('n_lp', 0)} LP, "
        f"{(exact.get('gradient') or {}).get('certified', 0)}/{record['n_corners']} gradient"
        if exact
        else "-"
    )
    return (
        f"| {name} | {record['dist_dataset_mean']:.2f} | {record['dist_corners_mean']:.2f} | "
        f"{100 * record['interp_top_class_accuracy']:.1f}% | "
        f"{record['target_prob']:.3f} / {record['interp_prob_mean']:.3f} | "
        f"{record['corners_converged']}/{record['n_corners']} in {record['steps_run']} steps | "
        f"{accuracy} | {certified} |"
    )


def table1(section: Mapping[str, Any]) -> str:
    """Table 1 of the paper beside this run's paper cases, macro row and further pairs."""
    accuracy = f"{100 * next(iter(section['model'].values()))['test_accuracy']:.2f}%"
    experiments = section["experiments"]
    paper = PAPER_TABLE1
    lines = [
        "| case | mean dist. dataset | mean dist. optimised | top-class acc. (interp.) | "
        "top-class prob. target / interp. | corners converged | model test acc. | certified |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        f"| paper, Table 1 (3 to 7) | {paper['dist_dataset_mean']:.2f} | "
        f"{paper['dist_corners_mean']:.2f} | {100 * paper['interp_top_class_accuracy']:.0f}% | "
        f"{paper['target_prob']:.1f} / {paper['interp_prob_mean']:.1f} | 5/5 | "
        f"{100 * paper['test_accuracy']:.2f}% | - |",
    ]
    for name in PAPER_VARIANTS:
        if name in experiments:
            lines.append(_row(f"ours: {name}", experiments[name], accuracy))
    for name, record in experiments.items():
        if record.get("mode") == "macro":
            lines.append(_row(f"ours, macro level: {name}", record, accuracy))
    pairs = {name: record for name, record in experiments.items() if name.startswith("pair_")}
    if len(pairs) >= 2:
        dist = [record["dist_corners_mean"] for record in pairs.values()]
        acc = [record["interp_top_class_accuracy"] for record in pairs.values()]
        converged = sum(record["corners_converged"] for record in pairs.values())
        corners = sum(record["n_corners"] for record in pairs.values())
        lines += [
            "",
            f"Over the {len(pairs)} further pairs: mean dist. optimised "
            f"{statistics.mean(dist):.2f} (sd {statistics.stdev(dist):.2f}, "
            f"range {min(dist):.2f}-{max(dist):.2f}); interpolation top-class accuracy "
            f"{100 * min(acc):.1f}% at worst; {converged}/{corners} corners converged.",
        ]
    return "\n".join(lines)


def tables(summary: Mapping[str, Any]) -> dict[str, str]:
    """The README blocks of this study, by marker name (none when it was not in the run)."""
    if STUDY not in summary:
        return {}
    return {"collisions_mnist_table1": table1(summary[STUDY])}


# The files a fresh run makes to check the key numbers (a part of the default run).
KEY_EXPERIMENTS = ("paper_3_to_7", "macro_3_to_7")
KEY_TARGETS = [
    "results/models/mlp/metrics.h5",
    *(
        f"results/collisions_mnist/{stage}/{name}.h5"
        for name in KEY_EXPERIMENTS
        for stage in ("collide", "interpolate")
    ),
]


def key_summary(folder: Any) -> dict[str, Any]:
    """The summary.json part of the key experiments, from a run's artifacts under ``folder``."""
    from pathlib import Path

    from fooled.studies.collisions import summary as report_summary

    folder = Path(folder)
    records = [
        report_summary.collect_experiment(
            folder / f"results/collisions_mnist/collide/{name}.h5",
            folder / f"results/collisions_mnist/interpolate/{name}.h5",
        )
        for name in KEY_EXPERIMENTS
    ]
    metrics = {"mnist_mlp": folder / "results/models/mlp/metrics.h5"}
    return {STUDY: report_summary.build_summary(metrics, records)}

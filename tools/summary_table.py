"""Print the README's results tables (Markdown) from a run's summary.json.

Usage: python tools/summary_table.py [results/report/summary.json]
"""

import json
import statistics
import sys
from pathlib import Path

from fooled.studies.collisions.summary import PAPER_TABLE1


def _row(name, record, accuracy):
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


def main(path: str = "results/report/summary.json") -> None:
    summary = json.loads(Path(path).read_text())
    accuracy = next(iter(summary["model"].values()))["test_accuracy"]
    experiments = summary["experiments"]
    print(
        "| case | mean dist. dataset | mean dist. optimised | top-class acc. (interp.) | "
        "top-class prob. target / interp. | corners converged | model test acc. | certified |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    paper = PAPER_TABLE1
    print(
        f"| paper, Table 1 (3 to 7) | {paper['dist_dataset_mean']:.2f} | "
        f"{paper['dist_corners_mean']:.2f} | {100 * paper['interp_top_class_accuracy']:.0f}% | "
        f"{paper['target_prob']:.1f} / {paper['interp_prob_mean']:.1f} | 5/5 | "
        f"{100 * paper['test_accuracy']:.2f}% | - |"
    )
    for name in ("paper_3_to_7", "paper_3_to_7_literal", "paper_3_to_7_wpos3", "paper_3_to_7_adam"):
        if name in experiments:
            print(_row(f"ours: {name}", experiments[name], f"{100 * accuracy:.2f}%"))
    for name, record in experiments.items():
        if record.get("mode") == "macro" and record.get("dataset", "mnist") == "mnist":
            print(_row(f"ours, macro level: {name}", record, f"{100 * accuracy:.2f}%"))
    pairs = {name: record for name, record in experiments.items() if name.startswith("pair_")}
    if pairs:
        dist = [record["dist_corners_mean"] for record in pairs.values()]
        acc = [record["interp_top_class_accuracy"] for record in pairs.values()]
        converged = sum(record["corners_converged"] for record in pairs.values())
        corners = sum(record["n_corners"] for record in pairs.values())
        print()
        print(
            f"Over the {len(pairs)} further pairs: mean dist. optimised "
            f"{statistics.mean(dist):.2f} (sd {statistics.stdev(dist):.2f}, "
            f"range {min(dist):.2f}-{max(dist):.2f}); interpolation top-class accuracy "
            f"{100 * min(acc):.1f}% at worst; {converged}/{corners} corners converged."
        )


if __name__ == "__main__":
    main(*sys.argv[1:])

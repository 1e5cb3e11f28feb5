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

from fooled.models.layout import MODELS
from fooled.studies.collisions.layout import MNIST_LAYOUT
from fooled.studies.collisions.paper import PAPER_TABLE1

STUDY = "collisions_mnist"
# Lists of pairs summarised in one line each: micro.yaml's further pairs, all_pairs.yaml's 90.
PAIR_LISTS = (("pair_", "further pairs"), ("all_", "ordered pairs of classes (all_pairs.yaml)"))
PAPER_VARIANTS = ("paper_3_to_7", "paper_3_to_7_literal", "paper_3_to_7_wpos3", "paper_3_to_7_adam")

# summary.json path -> tolerance on another machine (0: must be equal everywhere). Each covers
# the spread of the key numbers over the numerics that could be varied here (oneDNN's
# instruction set, oneDNN on or off, thread counts: benchmarks/bench_numerics.py, kept in
# docs/reference/numerics/variants.json and checked by tests/test_reproduce.py); the macro
# distance's is wide because its rising learning rate makes it chaotic.
KEY_NUMBERS: dict[str, float] = {
    "collisions_mnist.model.mnist_mlp.test_accuracy": 0.005,
    "collisions_mnist.experiments.paper_3_to_7.dist_corners_mean": 0.25,
    "collisions_mnist.experiments.paper_3_to_7.dist_dataset_mean": 0.0,
    "collisions_mnist.experiments.paper_3_to_7.interp_top_class_accuracy": 0.0,
    "collisions_mnist.experiments.paper_3_to_7.corners_converged": 0.0,
    "collisions_mnist.experiments.macro_3_to_7.dist_corners_mean": 0.9,
    "collisions_mnist.experiments.macro_3_to_7.interp_top_class_accuracy": 0.0,
    "collisions_mnist.experiments.macro_3_to_7.corners_converged": 0.0,
}
# The key numbers benchmarks/bench_numerics.py records per numerics variant (its name for
# each -> the summary.json path); the README's block numerics_variants shows them.
NUMERICS_MEASURES: dict[str, str] = {
    "mlp_test_accuracy": "collisions_mnist.model.mnist_mlp.test_accuracy",
    "paper_case_corners": "collisions_mnist.experiments.paper_3_to_7.dist_corners_mean",
    "macro_case_corners": "collisions_mnist.experiments.macro_3_to_7.dist_corners_mean",
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
    for prefix, label in PAIR_LISTS:
        pairs = {name: record for name, record in experiments.items() if name.startswith(prefix)}
        if len(pairs) < 2:
            continue
        dist = [record["dist_corners_mean"] for record in pairs.values()]
        acc = [record["interp_top_class_accuracy"] for record in pairs.values()]
        converged = sum(record["corners_converged"] for record in pairs.values())
        corners = sum(record["n_corners"] for record in pairs.values())
        lines += [
            "",
            f"Over the {len(pairs)} {label}: mean dist. optimised "
            f"{statistics.mean(dist):.2f} (sd {statistics.stdev(dist):.2f}, "
            f"range {min(dist):.2f}-{max(dist):.2f}); interpolation top-class accuracy "
            f"{100 * min(acc):.1f}% at worst; {converged}/{corners} corners converged.",
        ]
    return "\n".join(lines)


def findings(section: Mapping[str, Any]) -> str:
    """What Table 1 says, every number read from the run."""
    experiments = section["experiments"]
    micro = {n: r for n, r in experiments.items() if r.get("mode", "micro") == "micro"}
    paper, literal = experiments["paper_3_to_7"], experiments.get("paper_3_to_7_literal")
    macro = [r for r in experiments.values() if r.get("mode") == "macro"]
    accuracy = 100 * next(iter(section["model"].values()))["test_accuracy"]
    worst = min(r["interp_top_class_accuracy"] for r in micro.values())
    exact = [r["exact"] for r in micro.values() if r.get("exact")]
    lines = [
        "- The paper's claim holds here: "
        + (
            "every one of the 2,000 convex combinations of the corners keeps the target's "
            f"class, for the paper's pair and all {len(micro) - 1} other micro experiments"
            if worst == 1.0
            else f"at worst {100 * worst:.1f}% of the interpolations keep the target's class"
        )
        + f", and the network ({accuracy:.2f}% test accuracy; the paper's had "
        f"{100 * PAPER_TABLE1['test_accuracy']:.2f}%) is as sure of them as of the target.",
        f"- The corners are closer together than the paper's ({paper['dist_corners_mean']:.2f} "
        f"against {PAPER_TABLE1['dist_corners_mean']:.2f}): they stop at the first step where "
        "`L_pos < 5`, and a larger `w_pos` reaches it sooner.",
    ]
    if literal is not None:
        lines.append(
            f"- The paper's literal setting (`w_pos = 1`, `paper_3_to_7_literal`) reaches "
            f"`L_pos < 5` on {literal['corners_converged']}/{literal['n_corners']} corners "
            f"(it plateaus: the report plots it), yet its corners, "
            f"{literal['dist_corners_mean']:.2f} apart, keep the class in "
            f"{100 * literal['interp_top_class_accuracy']:.1f}% of the interpolations."
        )
    for record in macro:
        lines.append(
            "- The macro level (composites of real MNIST patches, the authors' optimiser, loss "
            "weights and learning-rate schedule, compressed 10x in steps) reaches `L_pos < 5` on "
            f"{record['corners_converged']}/{record['n_corners']} corners, "
            f"{record['dist_corners_mean']:.2f} apart, and "
            f"{100 * record['interp_top_class_accuracy']:.1f}% of the interpolations keep the "
            "target's class."
        )
    if exact:
        flipped = [r["max_flipped_units"] for r in micro.values() if r.get("exact")]
        errors = [e["gradient"]["max_equality_error"] for e in exact]
        spread = [e["dist_lp_corners_mean"] for e in exact]
        certified = sum(e["lp_certified"] for e in exact)
        total = sum(e["n_lp"] for e in exact)
        gradient = sum(e["gradient"]["certified"] for e in exact)
        lines.append(
            '- "Certified": the gradient corners are *approximate* collisions (they push up to '
            f"{min(flipped)}-{max(flipped)} of the target's inactive units above zero and miss "
            f"the equalities by {min(errors):.2f} to {max(errors):.2f} in pre-activation), so "
            f"{gradient} of them certify exactly. The exact corners found by linear "
            f"programming ({certified}/{total} certified) do, and so, by convexity, does every "
            f"combination of them; they lie {min(spread):.1f} to {max(spread):.1f} apart, "
            f"wider than two random digits ({paper['dist_dataset_mean']:.2f}): the collision "
            "polytope of the first layer is enormous."
        )
    return "\n".join(lines)


def tables(summary: Mapping[str, Any]) -> dict[str, str]:
    """The README blocks of this study, by marker name (none when it was not in the run)."""
    if STUDY not in summary:
        return {}
    section = summary[STUDY]
    return {
        "collisions_mnist_table1": table1(section),
        "collisions_mnist_findings": findings(section),
    }


# The files a fresh run makes to check the key numbers (a part of the default run).
KEY_EXPERIMENTS = ("paper_3_to_7", "macro_3_to_7")
KEY_TARGETS = [
    MODELS.path("metrics", network="mlp"),
    *(
        MNIST_LAYOUT.path(stage, experiment=name)
        for name in KEY_EXPERIMENTS
        for stage in ("collide", "interpolate")
    ),
]


def key_summary(folder: Any) -> dict[str, Any]:
    """The summary.json part of the key experiments, from a run's artifacts under ``folder``."""

    from fooled.studies.collisions import mnist_report

    study = MNIST_LAYOUT.under(folder)

    def stage(name: str) -> dict[str, str]:
        return {
            experiment: study.path(name, experiment=experiment) for experiment in KEY_EXPERIMENTS
        }

    artifacts = mnist_report.Artifacts(
        metrics=MODELS.under(folder).path("metrics", network="mlp"),
        collide=stage("collide"),
        interpolate=stage("interpolate"),
        polytope={},
        paper_case=KEY_EXPERIMENTS[0],
    )
    return {STUDY: mnist_report.summarise(artifacts)}

"""The fooling study's part of the README, generated from a run's summary.json.

``KEY_NUMBERS``/``KEY_TARGETS``/``key_summary`` follow the convention of
:mod:`fooled.studies` (tests/test_reproduce.py): the quick-scale direct run on the LeNet.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fooled.models.layout import MODELS
from fooled.report.claims import mean_sd
from fooled.studies.fooling.layout import LAYOUT
from fooled.studies.fooling.paper import THRESHOLDS, TOP_THRESHOLD, threshold_key

STUDY = "fooling"

KEY_NUMBERS: dict[str, float] = {
    "fooling.models.lenet.test_accuracy": 0.005,
    "fooling.evolve.lenet_direct.thresholds.99%.fraction_of_classes": 0.3,
}
KEY_TARGETS = [
    MODELS.path("metrics", network="lenet"),
    LAYOUT.path("evolve", experiment="lenet_direct", run=0),
]


def key_summary(folder: Any) -> dict[str, Any]:
    from pathlib import Path

    from fooled.studies.fooling import report

    folder = Path(folder)
    artifacts = report.Artifacts(
        evolve=[str(folder / KEY_TARGETS[1])], metrics={"lenet": str(folder / KEY_TARGETS[0])}
    )
    return {STUDY: report.summarise(artifacts)}


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def _at(thresholds: Mapping[str, Any], threshold: float, key: str) -> float | None:
    """A figure at one of the paper's thresholds ("-" in the table where the run lacks it)."""
    return (thresholds.get(threshold_key(threshold)) or {}).get(key)


def evolution_table(section: Mapping[str, Any]) -> str:
    """The paper's thresholds (fooling.paper) as columns; a run's other thresholds are in the
    report."""
    names = " / ".join(threshold_key(threshold) for threshold in THRESHOLDS)
    top = threshold_key(TOP_THRESHOLD)
    lines = [
        "| experiment | model (test acc.) | encoding | runs x generations (population) | "
        f"classes >= {names} | median generation to {top} | generations/s |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, record in section.get("evolve", {}).items():
        thresholds = record["thresholds"]
        accuracy = record.get("model_test_accuracy")
        model = record["model"] + (f" ({100 * accuracy:.2f}%)" if accuracy else "")
        fractions = " / ".join(
            _percent(_at(thresholds, threshold, "fraction_of_classes")) for threshold in THRESHOLDS
        )
        lines.append(
            f"| {name} | {model} | {record['encoding']} | {record['runs']} x "
            f"{record['generations']} ({record['population_size']}) | {fractions} | "
            f"{_number(_at(thresholds, TOP_THRESHOLD, 'median_generation'))} | "
            f"{record['generations_per_second_mean']:.1f} |"
        )
    for name, record in section.get("ascend", {}).items():
        for start, stats in record["starts"].items():
            lines.append(
                f"| {name} (gradient ascent from {start}) | {record['model']} | - | "
                f"{stats['n']} starts x {record['steps']} steps | "
                + " / ".join(
                    _percent(_at(stats["thresholds"], threshold, "fraction"))
                    for threshold in THRESHOLDS
                )
                + f" | step {_number(_at(stats['thresholds'], TOP_THRESHOLD, 'median_step'))} | - |"
            )
    lines += [
        "",
        "The paper's statements (as recalled in STUDIES.md): "
        + section["paper"]["mnist_evolution"],
    ]
    over_seeds = seeds_note(section.get("models", {}))
    if over_seeds:
        lines += ["", over_seeds[0].upper() + over_seeds[1:] + "."]
    return "\n".join(lines)


def retrain_table(section: Mapping[str, Any]) -> str:
    """Each round of retraining with a "fooling" class: the model's test accuracy, how many
    fooling images it trained on, and how evolution fares against it afterwards."""
    lines = [
        "| experiment | round | test accuracy | fooling images trained on | of them recognised "
        "as fooling | classes evolved to the top threshold | median final confidence |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, record in section.get("retrain", {}).items():
        for row in record["rounds"]:
            lines.append(
                f"| {name} ({record['encoding']}, {record['runs_per_round']} x "
                f"{record['generations']}) | {row['round']} | {100 * row['test_accuracy']:.2f}% | "
                f"{row['fooling_train_images']} | {_percent(row['fooling_recognised'])} | "
                f"{_percent(row['fraction_at_top'])} | {row['median_final_confidence']:.4f} |"
            )
    return "\n".join(lines)


def seeds_note(models: Mapping[str, Mapping[str, Any]]) -> str:
    """Each network's test accuracy over its seeds, where it has several ("" otherwise)."""
    notes = []
    for model, record in models.items():
        found = record.get("seeds", [])
        if len(found) > 1:
            measured = mean_sd([row["test_accuracy"] for row in found], "seed")
            listed = ", ".join(str(row["seed"]) for row in found)
            notes.append(
                f"{model} test accuracy over seeds {listed}: "
                f"{100 * measured.value:.2f}% +- {100 * (measured.sd or 0.0):.2f}% (mean +- sd); "
                "the fooling runs attack the first"
            )
    return "; ".join(notes)


def tables(summary: Mapping[str, Any]) -> dict[str, str]:
    """The README's table and, for docs/studies/fooling.md, retraining."""
    if STUDY not in summary:
        return {}
    return {
        "fooling_table": evolution_table(summary[STUDY]),
        "fooling_retrain": retrain_table(summary[STUDY]),
    }

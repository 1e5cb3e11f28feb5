"""The fooling study's part of the README, generated from a run's summary.json.

``KEY_NUMBERS``/``KEY_TARGETS``/``key_summary`` follow the convention of
:mod:`fooled.studies` (tests/test_reproduce.py): the quick-scale direct run on the LeNet.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fooled.models.layout import MODELS
from fooled.studies.fooling.layout import LAYOUT

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
    section = report.build_section(
        evolve_paths=[str(folder / KEY_TARGETS[1])],
        ascend_paths=[],
        retrain_paths=[],
        metrics_paths={"lenet": str(folder / KEY_TARGETS[0])},
        settings={},
    )
    return {STUDY: section.summary}


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def evolution_table(section: Mapping[str, Any]) -> str:
    lines = [
        "| experiment | model (test acc.) | encoding | runs x generations (population) | "
        "classes >= 99% / 99.9% / 99.99% | median generation to 99.99% | generations/s |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, record in section.get("evolve", {}).items():
        thresholds = record["thresholds"]
        accuracy = record.get("model_test_accuracy")
        model = record["model"] + (f" ({100 * accuracy:.2f}%)" if accuracy else "")
        fractions = " / ".join(
            _percent(thresholds[key]["fraction_of_classes"]) for key in ("99%", "99.9%", "99.99%")
        )
        median = thresholds["99.99%"]["median_generation"]
        lines.append(
            f"| {name} | {model} | {record['encoding']} | {record['runs']} x "
            f"{record['generations']} ({record['population_size']}) | {fractions} | "
            f"{'-' if median is None else f'{median:g}'} | "
            f"{record['generations_per_second_mean']:.1f} |"
        )
    for name, record in section.get("ascend", {}).items():
        for start, stats in record["starts"].items():
            lines.append(
                f"| {name} (gradient ascent from {start}) | {record['model']} | - | "
                f"{stats['n']} starts x {record['steps']} steps | "
                + " / ".join(
                    _percent(stats["thresholds"][k]["fraction"]) for k in ("99%", "99.9%", "99.99%")
                )
                + f" | step {stats['thresholds']['99.99%']['median_step']:g} | - |"
            )
    lines += [
        "",
        "The paper's statements (as recalled in STUDIES.md): "
        + section["paper"]["mnist_evolution"],
    ]
    return "\n".join(lines)


def tables(summary: Mapping[str, Any]) -> dict[str, str]:
    if STUDY not in summary:
        return {}
    return {"fooling_table": evolution_table(summary[STUDY])}

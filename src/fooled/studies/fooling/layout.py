"""Where the fooling study's artifacts lie (every path of the study, declared once)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fooled.core.layout import Layout, StudyLayout, artifacts

LAYOUT = Layout(
    "results/fooling",
    artifacts(
        evolve=(
            "evolve/{experiment}_{run}.h5",
            "one MAP-Elites run: each class's elite image, its confidence per generation, "
            "the generation each threshold was reached",
        ),
        ascend=(
            "ascend/{experiment}.h5",
            "gradient ascent to every class from noise and from real digits",
        ),
        retrain=(
            "retrain/{experiment}.h5",
            "retraining with the fooling images as an extra class, round by round",
        ),
    ),
    "the fooling study",
)


def files(
    artifact: str, section: Mapping[str, Any], experiments: Mapping[str, Mapping[str, Any]]
) -> list[str]:
    """An artifact's files in a run: every experiment of its mode (and every evolve run)."""
    mode = {"evolve": "evolve", "ascend": "ascend", "retrain": "retrain"}[artifact]
    chosen = {name: s for name, s in experiments.items() if s.get("mode") == mode}
    if artifact == "evolve":
        return [
            LAYOUT.path(artifact, experiment=name, run=run)
            for name, settings in chosen.items()
            for run in range(settings["runs"])
        ]
    return [LAYOUT.path(artifact, experiment=name) for name in chosen]


STUDY = StudyLayout(LAYOUT, files)


def section_inputs(
    section: Mapping[str, Any],
    experiments: Mapping[str, Mapping[str, Any]],
    metrics_of: Mapping[str, str],
    seed_metrics_of: Mapping[str, list[str]] | None = None,
) -> dict[str, Any]:
    """The report's inputs; ``metrics_of``: each MNIST network's metrics file;
    ``seed_metrics_of``: those of its further seeds (models.<network>.replicate_seeds)."""
    models = {settings["model"] for settings in experiments.values()} & set(metrics_of)
    further = seed_metrics_of or {}
    return {
        "evolve": files("evolve", section, experiments),
        "ascend": files("ascend", section, experiments),
        "retrain": files("retrain", section, experiments),
        **{f"metrics_{model}": metrics_of[model] for model in sorted(models)},
        **{
            f"seed_metrics_{model}": list(further[model])
            for model in sorted(models)
            if further.get(model)
        },
    }

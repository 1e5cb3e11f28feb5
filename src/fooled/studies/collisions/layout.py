"""Where the two collision studies' artifacts lie (every path of the studies, declared once)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fooled.core import batches
from fooled.core.layout import Layout, StudyLayout, artifacts

MNIST_LAYOUT = Layout(
    "results/collisions_mnist",
    artifacts(
        collide=(
            "collide/{experiment}.h5",
            "an experiment's corners (micro: optimised from the seed; macro: composites of "
            "source digits), their losses per step, pre-activations and classes",
        ),
        interpolate=(
            "interpolate/{experiment}.h5",
            "convex combinations of the corners: weights, top class and probabilities",
        ),
        polytope=(
            "polytope/{experiment}.h5",
            "micro experiments at fc1: the exact polytope's LP corners, certificates of "
            "both kinds of corner, pixel ranges",
        ),
        sources=(
            "sources/{experiment}.h5",
            "macro experiments: the source digits composed into the corners, and the "
            "starting weights",
        ),
        batch=(
            "batches/{batch}",
            "micro experiments computed in one job (micro_per_job), their collide, "
            "interpolate and polytope files laid out as above below it; copied into place",
        ),
    ),
    "the feature-collision study on MNIST",
)

IMAGENET_LAYOUT = Layout(
    "results/collisions_imagenet",
    artifacts(
        collide=(
            "collide/{experiment}.h5",
            "an experiment's corners at VGG-16's layer, their losses and classes",
        ),
        interpolate=(
            "interpolate/{experiment}.h5",
            "convex combinations of the corners: top class and probabilities",
        ),
    ),
    "the feature-collision study on ImageNet",
)

# The artifacts an experiment of each mode has (MNIST).
MODES = {
    "micro": ("collide", "interpolate", "polytope"),
    "macro": ("sources", "collide", "interpolate"),
}


def micro_batches(
    section: Mapping[str, Any], experiments: Mapping[str, Mapping[str, Any]]
) -> dict[str, list[str]]:
    """The micro experiments of each job (``micro_per_job`` of them, in list order)."""
    micro = [name for name, settings in experiments.items() if settings["mode"] == "micro"]
    return batches.split(micro, section["micro_per_job"], "micro")


def batch_of(
    section: Mapping[str, Any], experiments: Mapping[str, Mapping[str, Any]]
) -> dict[str, str]:
    """Each micro experiment's job (:func:`micro_batches`)."""
    return batches.owners(micro_batches(section, experiments))


def mnist_files(
    artifact: str, section: Mapping[str, Any], experiments: Mapping[str, Mapping[str, Any]]
) -> list[str]:
    """An artifact's files in a run: every experiment whose mode has it, in list order."""
    return [
        MNIST_LAYOUT.path(artifact, experiment=name)
        for name, settings in experiments.items()
        if artifact in MODES[settings["mode"]]
    ]


def imagenet_files(
    artifact: str, section: Mapping[str, Any], experiments: Mapping[str, Mapping[str, Any]]
) -> list[str]:
    return [IMAGENET_LAYOUT.path(artifact, experiment=name) for name in experiments]


MNIST = StudyLayout(MNIST_LAYOUT, mnist_files)
IMAGENET = StudyLayout(IMAGENET_LAYOUT, imagenet_files)


def mnist_section_inputs(
    section: Mapping[str, Any], experiments: Mapping[str, Mapping[str, Any]], metrics: str
) -> dict[str, Any]:
    """The MNIST study's report inputs; ``metrics``: the MLP's metrics file."""
    return {
        "metrics": metrics,
        **{
            artifact: mnist_files(artifact, section, experiments)
            for artifact in ("collide", "interpolate", "polytope")
        },
    }


def imagenet_section_inputs(
    section: Mapping[str, Any], experiments: Mapping[str, Mapping[str, Any]], index_summary: str
) -> dict[str, Any]:
    """The ImageNet study's report inputs; ``index_summary``: the patch index's evaluation."""
    return {
        "collide": imagenet_files("collide", section, experiments),
        "interpolate": imagenet_files("interpolate", section, experiments),
        "index": [index_summary],
    }

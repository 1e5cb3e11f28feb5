"""The collisions_imagenet study's report (rule ``collisions_imagenet_report``): Tables 2-4
beside the paper, the ImageNet ingest, the patch index's recall and speed, every experiment.

:func:`summarise` reads the artifacts into the summary (:mod:`.summary`); :func:`render`
draws the section from it (:mod:`.render`; :mod:`fooled.report.study`). No TensorFlow.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fooled.core.stage import Job, as_paths
from fooled.report.html import Figures
from fooled.report.sections import Section
from fooled.studies.collisions import render as html
from fooled.studies.collisions import summary as records
from fooled.studies.collisions.mnist_report import named_paths

STUDY = "collisions_imagenet"
TITLE = "Feature collisions on ImageNet"
LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class Artifacts:
    """Each experiment's artifacts by experiment name, and the patch index's evaluation
    (``summary.json`` of rule ``evaluate_index``; none when the index was not evaluated)."""

    collide: Mapping[str, str]
    interpolate: Mapping[str, str]
    index: Sequence[str] = field(default_factory=list)

    def inputs(self) -> dict[str, str]:
        """Every experiment artifact by a name (``collide/<experiment>``, ...)."""
        named = {f"collide/{name}": path for name, path in self.collide.items()}
        return named | {f"interpolate/{name}": path for name, path in self.interpolate.items()}


def artifacts_of(job: Job) -> Artifacts:
    """Inputs ``collide``, ``interpolate`` (named by params ``experiment_names``), optional
    ``index``."""
    return Artifacts(
        collide=named_paths(job, "collide", "experiment_names"),
        interpolate=named_paths(job, "interpolate", "experiment_names"),
        index=as_paths(job.input.get("index")),
    )


def summarise(artifacts: Artifacts) -> dict[str, Any]:
    """The study's part of ``summary.json``: experiments, the paper's Tables 2-4, the index
    (its ``ingest`` record kept in this study's section)."""
    found = records.collect_experiments(artifacts.collide, artifacts.interpolate, {}, LOGGER)
    seconds = records.stage_seconds({}, artifacts.collide, artifacts.interpolate)
    return records.build_summary({}, found, seconds) | records.index_summary(artifacts.index)


def render(summary: Mapping[str, Any], figures: Figures) -> Section:
    """The section: tables from ``summary``, figures from ``figures.artifacts``."""
    artifacts: Artifacts = figures.artifacts
    page = html.render_imagenet_section(
        summary,
        artifacts.collide,
        artifacts.interpolate,
        records.report_provenance(artifacts.inputs()),
        figures,
    )
    return Section(STUDY, TITLE, page, dict(summary))

"""The collisions_mnist study's report (rule ``collisions_mnist_report``): Table 1 beside the
paper, every experiment, the exact polytopes, figures.

:func:`summarise` reads the artifacts into the summary (:mod:`.summary`); :func:`render`
draws the section from it (:mod:`.render`; :mod:`fooled.report.study`). No TensorFlow.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fooled.core import h5io
from fooled.core.stage import Job
from fooled.report.html import Figures
from fooled.report.sections import Section
from fooled.studies.collisions import render as html
from fooled.studies.collisions import summary as records

STUDY = "collisions_mnist"
TITLE = "Feature collisions on MNIST"
LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class Artifacts:
    """The model's metrics, each experiment's artifacts by experiment name (polytopes: the
    micro experiments on a first layer), and the experiment shown beside the paper's row."""

    metrics: str
    collide: Mapping[str, str]
    interpolate: Mapping[str, str]
    polytope: Mapping[str, str]
    paper_case: str

    def inputs(self) -> dict[str, str]:
        """Every input by a name (``collide/<experiment>``, ...): the section's provenance."""
        named = {"metrics": self.metrics}
        for stage in ("collide", "interpolate", "polytope"):
            named |= {f"{stage}/{name}": path for name, path in getattr(self, stage).items()}
        return named


def named_paths(job: Job, key: str, names_key: str | None = None) -> dict[str, str]:
    """A list input paired with its experiment names (params ``<key>_names``), one to one."""
    names = [str(name) for name in job.params[names_key or f"{key}_names"]]
    paths = [str(path) for path in job.input[key]]
    if len(names) != len(paths):
        raise ValueError(
            f"{len(names)} {key} experiment names and {len(paths)} {key} inputs: they must "
            "match one to one"
        )
    return dict(zip(names, paths, strict=True))


def artifacts_of(job: Job) -> Artifacts:
    """Inputs ``metrics``, ``collide``, ``interpolate``, ``polytope`` (lists, named by params
    ``collide_names`` ...), params ``paper_case``."""
    return Artifacts(
        metrics=str(job.input.metrics),
        collide=named_paths(job, "collide"),
        interpolate=named_paths(job, "interpolate"),
        polytope=named_paths(job, "polytope"),
        paper_case=str(job.params.paper_case),
    )


def summarise(artifacts: Artifacts) -> dict[str, Any]:
    """The study's part of ``summary.json``: model, experiments, aggregate, paper, seconds."""
    model_name = str(h5io.read_attrs(artifacts.metrics).get("model_name") or "mnist_mlp")
    metrics = {model_name: artifacts.metrics}
    found = records.collect_experiments(
        artifacts.collide, artifacts.interpolate, artifacts.polytope, LOGGER
    )
    seconds = records.stage_seconds(
        metrics, artifacts.collide, artifacts.interpolate, artifacts.polytope
    )
    return records.build_summary(metrics, found, seconds)


def render(summary: Mapping[str, Any], figures: Figures) -> Section:
    """The section: tables from ``summary``, figures from ``figures.artifacts``."""
    artifacts: Artifacts = figures.artifacts
    page = html.render_mnist_section(
        summary,
        artifacts.collide,
        artifacts.interpolate,
        artifacts.polytope,
        artifacts.paper_case,
        records.report_provenance(artifacts.inputs()),
        figures,
    )
    return Section(STUDY, TITLE, page, dict(summary))

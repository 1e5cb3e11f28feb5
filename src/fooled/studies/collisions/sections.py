"""The two collision studies' report sections (rules collisions_mnist_report, _imagenet_report).

No TensorFlow here: the report rules read artifacts and draw figures only.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from fooled.core import h5io
from fooled.core.stage import Job
from fooled.report.html import Figures
from fooled.report.sections import Section
from fooled.studies.collisions import report, summary


def _paths(job: Job, key: str) -> dict[str, str]:
    names = [str(name) for name in job.params[f"{key}_names"]]
    paths = [str(path) for path in job.input[key]]
    if len(names) != len(paths):
        raise ValueError(
            f"{len(names)} {key} experiment names and {len(paths)} {key} inputs: they must "
            "match one to one"
        )
    return dict(zip(names, paths, strict=True))


def mnist_section(job: Job, logger: logging.Logger) -> None:
    """The collisions_mnist report section: Table 1, every experiment, the polytopes, figures."""
    collide_paths = _paths(job, "collide")
    interpolate_paths = _paths(job, "interpolate")
    polytope_paths = _paths(job, "polytope")
    metrics_path = str(job.input.metrics)
    model_name = str(h5io.read_attrs(metrics_path).get("model_name") or "mnist_mlp")
    metrics = {model_name: metrics_path}
    records = summary.collect_experiments(collide_paths, interpolate_paths, polytope_paths, logger)
    seconds = summary.stage_seconds(metrics, collide_paths, interpolate_paths, polytope_paths)
    section_summary = summary.build_summary(metrics, records, seconds)
    inputs = {"metrics": metrics_path}
    for stage, paths in (
        ("collide", collide_paths),
        ("interpolate", interpolate_paths),
        ("polytope", polytope_paths),
    ):
        inputs |= {f"{stage}/{name}": path for name, path in paths.items()}
    figures = Figures(job.output.figures)
    html = report.render_mnist_section(
        section_summary,
        collide_paths,
        interpolate_paths,
        polytope_paths,
        str(job.params.paper_case),
        summary.report_provenance(inputs),
        figures,
    )
    Section("collisions_mnist", "Feature collisions on MNIST", html, section_summary).write(
        job.output.html, job.output.summary
    )
    logger.info("wrote %s (%d figures)", job.output.html, len(figures.written))


def imagenet_section(job: Job, logger: logging.Logger) -> None:
    """Tables 2-4 beside the paper, the ingest, the patch index's recall and speed, experiments."""
    names = [str(name) for name in job.params.experiment_names]
    collide_paths = dict(zip(names, [str(p) for p in job.input.collide], strict=True))
    interpolate_paths = dict(zip(names, [str(p) for p in job.input.interpolate], strict=True))
    records = summary.collect_experiments(collide_paths, interpolate_paths, {}, logger)
    seconds = summary.stage_seconds({}, collide_paths, interpolate_paths)
    section_summary = summary.build_summary({}, records, seconds)
    for index_summary in job.input.get("index", []):
        index = json.loads(Path(index_summary).read_text())
        if "ingest" in index:  # the database's input, kept in this study's section
            section_summary["ingest"] = index.pop("ingest")
        section_summary["index"] = index
    inputs = {f"collide/{n}": p for n, p in collide_paths.items()}
    inputs |= {f"interpolate/{n}": p for n, p in interpolate_paths.items()}
    figures = Figures(job.output.figures)
    html = report.render_imagenet_section(
        section_summary,
        collide_paths,
        interpolate_paths,
        summary.report_provenance(inputs),
        figures,
    )
    Section("collisions_imagenet", "Feature collisions on ImageNet", html, section_summary).write(
        job.output.html, job.output.summary
    )
    logger.info("wrote %s (%d figures)", job.output.html, len(figures.written))

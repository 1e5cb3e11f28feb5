"""What every study's report module provides, and the report rule's stage built from it.

A study's report is two steps, named the same in every study's report module
(``fooled.studies.<study>.report``; the two collision studies share a package, so theirs
are ``fooled.studies.collisions.mnist_report`` and ``.imagenet_report``):

- ``summarise(artifacts) -> summary``: the study's part of ``summary.json``, read from its
  artifacts. Plain data only (:func:`is_plain`: dicts with text keys, lists, numbers,
  text, booleans, None); numbers stay numbers (a setting such as an FGSM epsilon is a
  number in the summary, never parsed back out of a name). It is what ``summary.json``,
  the README's tables (the study's ``readme.py``), the tests and the verdicts on the
  paper's claims read.
- ``render(summary, figures) -> Section``: the study's HTML from the summary, whose
  numbers its tables show. The pictures (images, loss curves, score distributions: arrays
  no summary carries) are drawn from the artifacts the figure sink was opened on,
  ``figures.artifacts``, and kept by the sink (:class:`fooled.report.html.Figures`:
  embedded in the page and written as PNG files). The same artifacts give what
  ``summary.json`` has never held: counts in captions (training-set sizes), a section's
  provenance (input checksums), rows the summary cannot key (defences: scored sets that
  share a name).

``artifacts`` is the module's ``Artifacts``: the files the section is made from and the few
report settings that say how to show them, made from the report job by
``artifacts_of(job)``. :func:`section_stage` turns such a module into the report rule's
stage function (the rule's script: ``run_script(snakemake, section_stage(report))``), so a
report job imports the study's report module only, never TensorFlow.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from fooled.core.stage import Job, Names
from fooled.report.html import Figures
from fooled.report.sections import Section


class StudyReport(Protocol):
    """A study's report module (a module satisfies this protocol by its names)."""

    STUDY: str
    TITLE: str

    def artifacts_of(self, job: Job) -> Any:
        """The section's artifacts (``Artifacts``) from the report job's inputs and params."""

    def summarise(self, artifacts: Any) -> dict[str, Any]:
        """The study's part of ``summary.json``: plain data (:func:`is_plain`)."""

    def render(self, summary: Mapping[str, Any], figures: Figures) -> Section:
        """The section: HTML from ``summary``, pictures drawn from ``figures.artifacts``."""


def write_section(
    report: StudyReport, artifacts: Any, output: Names, logger: logging.Logger
) -> Section:
    """Summarise, render and write one study's section (``output``: ``html``, ``summary`` and,
    optionally, the ``figures`` folder)."""
    summary = report.summarise(artifacts)
    figures = Figures(output.get("figures"), artifacts)
    section = report.render(summary, figures)
    section.write(output.html, output.summary)
    logger.info("%s: wrote %s (%d figures)", section.study, output.html, len(figures.written))
    return section


def section_stage(report: StudyReport) -> Callable[[Job, logging.Logger], None]:
    """The report rule's stage function of a study's report module."""

    def stage(job: Job, logger: logging.Logger) -> None:
        write_section(report, report.artifacts_of(job), job.output, logger)

    stage.__doc__ = f"Rule ``{report.STUDY}_report``: the section of {report.__name__}."
    return stage


def is_plain(value: Any) -> bool:
    """Whether ``value`` is plain data, what a summary holds: dicts with text keys, lists,
    Python numbers (NaN allowed: summary.json writes it as null), text, booleans, None."""
    if value is None or type(value) in (bool, int, float, str):
        return True
    if type(value) is list:
        return all(is_plain(item) for item in value)
    if type(value) is dict:
        return all(type(key) is str and is_plain(item) for key, item in value.items())
    return False

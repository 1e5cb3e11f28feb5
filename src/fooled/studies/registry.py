"""The studies, registered once: this list drives the workflow and everything that spans studies.

Each :class:`Study` names where its parts live; nothing here imports a study until asked
(names are ``"module:attribute"`` strings inside the study's package), so importing the
registry costs nothing and no study imports another through it. What reads the registry:

- the ``Snakefile`` includes each study's rule file, ``workflow/rules/studies/<name>.smk``;
- ``workflow/rules/common.smk`` validates ``studies.<name>`` against
  ``workflow/schemas/studies/<name>.schema.yaml`` (the config schema's list of studies is
  this list) and runs each study's checks;
- ``rule all`` and the report take the enabled studies' sections in this order;
- ``tools/readme_tables.py`` and ``tests/test_reproduce.py`` take each study's README part;
- the report and the README judge each study's claims (:func:`claims`) on the summary;
- the workflow resolves what one study reads from another (``"<study>.<artifact>"``,
  :func:`resolve`) through the studies' layouts.

Adding a study: its package, its rule file, its schema, one line below, tests
(docs/architecture.md).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fooled.core.layout import Reference, StudyLayout


@dataclass(frozen=True)
class Study:
    """Where a study's parts live (``"module:attribute"`` names inside ``package``)."""

    name: str  # config key studies.<name>, target rule, results/<name>/, summary.json key
    package: str
    layout: str  # its StudyLayout
    checks: str  # check(loaded): its cross-references, at start
    report: str  # its report module: Artifacts, artifacts_of, summarise, render
    readme: str | None = None  # tables(summary), KEY_NUMBERS, KEY_TARGETS, key_summary(folder)
    claims: str | None = None  # its papers' claims over its summary (fooled.report.claims)

    @property
    def rules(self) -> str:
        """Its rule file, relative to the workflow's folder."""
        return f"workflow/rules/studies/{self.name}.smk"

    @property
    def schema(self) -> str:
        """Its schema, relative to ``workflow/schemas/``."""
        return f"studies/{self.name}.schema.yaml"

    def load(self, name: str) -> Any:
        """``"module:attribute"`` (or ``"module"``) inside the study's package."""
        module, _, attribute = name.partition(":")
        loaded = importlib.import_module(f"{self.package}.{module}")
        return getattr(loaded, attribute) if attribute else loaded

    def study_layout(self) -> StudyLayout:
        return self.load(self.layout)

    def report_module(self) -> Any:
        return self.load(self.report)

    def readme_module(self) -> Any:
        return self.load(self.readme) if self.readme else None


STUDIES: tuple[Study, ...] = (
    Study(
        "collisions_mnist",
        "fooled.studies.collisions",
        layout="layout:MNIST",
        checks="checks:check_mnist",
        report="mnist_report",
        readme="readme",
        claims="claims:CLAIMS",
    ),
    Study(
        "collisions_imagenet",
        "fooled.studies.collisions",
        layout="layout:IMAGENET",
        checks="checks:check_imagenet",
        report="imagenet_report",
    ),
    Study(
        "szegedy",
        "fooled.studies.szegedy",
        layout="layout:STUDY",
        checks="settings:check",
        report="report",
        readme="readme",
        claims="claims:CLAIMS",
    ),
    Study(
        "fooling",
        "fooled.studies.fooling",
        layout="layout:STUDY",
        checks="checks:check",
        report="report",
        readme="readme",
        claims="claims:CLAIMS",
    ),
    Study(
        "defences",
        "fooled.studies.defences",
        layout="layout:STUDY",
        checks="checks:check",
        report="report",
        readme="readme",
        claims="claims:CLAIMS",
    ),
    Study(
        "card",
        "fooled.studies.card",
        layout="layout:STUDY",
        checks="checks:check",
        report="report",
    ),
)
BY_NAME: dict[str, Study] = {study.name: study for study in STUDIES}


def names() -> list[str]:
    return [study.name for study in STUDIES]


def study(name: str) -> Study:
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"no study '{name}' (registered: {', '.join(BY_NAME)})") from None


def checks() -> dict[str, Any]:
    """Each study's check of its cross-references, by study."""
    return {entry.name: entry.load(entry.checks) for entry in STUDIES}


def readme_modules() -> dict[str, Any]:
    """The studies that have a README part: name -> its module."""
    return {entry.name: entry.readme_module() for entry in STUDIES if entry.readme}


def claims() -> dict[str, Any]:
    """The studies' claims (fooled.report.claims.Claim), by study, in the registry's order."""
    return {entry.name: entry.load(entry.claims) for entry in STUDIES if entry.claims}


def resolve(
    reference: Reference | str,
    config: Mapping[str, Any],
    experiments: Mapping[str, Mapping[str, Mapping[str, Any]]],
) -> list[str]:
    """The files of another study's artifact in this run (none when that study is off)."""
    if isinstance(reference, str):
        reference = Reference.parse(reference)
    owner = study(reference.owner)
    section = config["studies"][owner.name]
    if not section["enabled"]:
        return []
    return owner.study_layout().files(reference.artifact, section, experiments.get(owner.name, {}))


def glob(reference: Reference | str, folder: str = ".") -> list[str]:
    """Every existing file of another study's artifact below ``folder`` (benchmarks, tools)."""
    if isinstance(reference, str):
        reference = Reference.parse(reference)
    return study(reference.owner).study_layout().layout.glob(reference.artifact, folder)


def siblings(
    reference: Reference | str, paths: list[str], artifact: str, reverse: bool = False
) -> dict[str, str]:
    """Each file of ``reference`` -> the file of ``artifact`` (same study) with its wildcards.

    ``collisions_mnist.interpolate`` files -> their experiments' ``collide`` files, below the
    same folder; ``reverse``: the other way round (``artifact``'s file -> the given file).
    """
    if isinstance(reference, str):
        reference = Reference.parse(reference)
    layout = study(reference.owner).study_layout().layout
    pairs = {}
    for path in paths:
        wildcards = layout.match(reference.artifact, path)
        if wildcards is None:
            raise ValueError(f"{path}: not a file of {reference}")
        own = layout.path(reference.artifact, **wildcards)
        other = path[: len(path) - len(own)] + layout.path(artifact, **wildcards)
        pairs[other if reverse else path] = path if reverse else other
    return pairs


def find_inputs(
    name: str, folder: str = ".", only: Mapping[str, list[str]] | None = None
) -> dict[str, list[str]]:
    """What a study reads from the others, as found below ``folder`` (benchmarks, tools).

    ``only``: input name -> the experiments to keep (the others are left out).
    """
    inputs = study(name).study_layout().inputs
    found = {}
    for input_name in inputs:
        reference = inputs[input_name]
        paths = glob(reference, folder)
        if only and input_name in only:
            layout = study(reference.owner).study_layout().layout
            paths = [
                path
                for path in paths
                if (layout.match(reference.artifact, path) or {}).get("experiment")
                in only[input_name]
            ]
        found[input_name] = paths
    return found

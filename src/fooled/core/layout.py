"""Where artifacts lie: every path template declared once, read by the rules and by Python.

A :class:`Layout` is a folder (``results/szegedy``) and its named artifacts, each a template
relative to it with ``{wildcards}`` (``models/{name}/seed{seed}/attack.h5``) and a line
saying what it holds. Each study declares its own in ``fooled/studies/<study>/layout.py``,
the shared layers theirs (``fooled.data.layout``, ``fooled.models.layout``,
``fooled.report.layout``); the workflow's rules, the stage functions, the benchmarks, the
docs' tables of files (generated) and the tests take every path from them, so a path is
written once (``tests/test_layout.py`` looks for copies).

A study names what it reads from another study by reference, ``"<study>.<artifact>"``
(:class:`Reference`), never by importing it: the workflow resolves references through the
study registry (``fooled.studies.registry``).
"""

from __future__ import annotations

import glob
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

WILDCARD = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Artifact:
    """One kind of file: its template (relative to the layout's folder) and what it holds."""

    template: str
    description: str

    @property
    def wildcards(self) -> tuple[str, ...]:
        return tuple(WILDCARD.findall(self.template))


@dataclass(frozen=True)
class Layout:
    """A folder and its artifacts, by name."""

    root: str
    artifacts: Mapping[str, Artifact]
    description: str = ""

    def __getitem__(self, name: str) -> Artifact:
        try:
            return self.artifacts[name]
        except KeyError:
            raise KeyError(
                f"{self.root}: no artifact '{name}' (known: {', '.join(self.artifacts)})"
            ) from None

    def template(self, name: str) -> str:
        """The artifact's full template, every wildcard open (``{name}``: Snakemake's form)."""
        return f"{self.root}/{self[name].template}"

    def path(self, name: str, /, **wildcards: object) -> str:
        """The template with the given wildcards filled in; the others stay ``{open}``.

        Snakemake rules leave wildcards open (``path("collide", experiment="{experiment}")``
        is the same as ``template("collide")``); Python fills them all.
        """
        template = self.template(name)
        unknown = set(wildcards) - set(self[name].wildcards)
        if unknown:
            raise KeyError(f"{template}: no wildcard {', '.join(sorted(unknown))}")
        return WILDCARD.sub(
            lambda match: str(wildcards.get(match.group(1), match.group(0))), template
        )

    def under(self, folder: str | Path) -> Layout:
        """The same layout below ``folder`` (a run in another working directory)."""
        return Layout(f"{Path(folder).as_posix()}/{self.root}", self.artifacts, self.description)

    def glob(self, name: str, folder: str | Path = ".") -> list[str]:
        """Every existing file of an artifact below ``folder``, sorted (benchmarks, tools)."""
        pattern = WILDCARD.sub("*", str(Path(folder) / self.template(name)))
        return sorted(glob.glob(pattern))

    def match(self, name: str, path: str | Path) -> dict[str, str] | None:
        """The wildcards of ``path`` if it is a file of this artifact (its tail is compared)."""
        template = re.escape(self.template(name))
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", template)
        found = re.search(f"(?:^|/){pattern}$", Path(path).as_posix())
        return found.groupdict() if found else None

    def __iter__(self) -> Iterator[str]:
        return iter(self.artifacts)


def artifacts(**declared: tuple[str, str]) -> dict[str, Artifact]:
    """``name=(template, description)`` pairs as artifacts, in the order given."""
    return {
        name: Artifact(template, description) for name, (template, description) in declared.items()
    }


@dataclass(frozen=True)
class Reference:
    """An artifact of another study (or a shared layer), named ``"<owner>.<artifact>"``."""

    owner: str
    artifact: str

    @classmethod
    def parse(cls, text: str) -> Reference:
        owner, _, artifact = text.partition(".")
        if not owner or not artifact:
            raise ValueError(f"reference '{text}': expected '<study>.<artifact>'")
        return cls(owner, artifact)

    def __str__(self) -> str:
        return f"{self.owner}.{self.artifact}"


@dataclass(frozen=True)
class Inputs:
    """What a study reads from other studies: its own name for each -> a :class:`Reference`."""

    references: Mapping[str, Reference] = field(default_factory=dict)

    @classmethod
    def of(cls, **named: str) -> Inputs:
        return cls({name: Reference.parse(text) for name, text in named.items()})

    def __iter__(self) -> Iterator[str]:
        return iter(self.references)

    def __getitem__(self, name: str) -> Reference:
        return self.references[name]


def markdown_table(layout: Layout) -> str:
    """The layout's files as a Markdown table (the docs' generated tables of files)."""
    lines = ["| file | holds |", "| --- | --- |"]
    for name in layout:
        lines.append(f"| `{layout.template(name)}` | {layout[name].description} |")
    return "\n".join(lines)


@dataclass(frozen=True)
class StudyLayout:
    """A study's layout, what it reads from other studies, and the files of one run.

    ``files(artifact, section, experiments)`` lists an artifact's concrete files for a run:
    its wildcards filled for every experiment (and run, seed, ...) of the study's loaded
    config section. What another study reads from this one comes from here.
    """

    layout: Layout
    files: Callable[[str, Mapping[str, Any], Mapping[str, Mapping[str, Any]]], list[str]]
    inputs: Inputs = field(default_factory=Inputs)


# Files the workflow itself keeps: checkpoints of long jobs (not rule outputs: Snakemake would
# delete them before rerunning a killed job) and Snakemake's benchmark record of every job.
WORKFLOW = Layout(
    "results",
    artifacts(
        checkpoint=(
            "checkpoints/{study}/{name}.h5",
            "a long job's state, written every few steps and removed once the job is done",
        ),
        benchmark=(
            "benchmarks/{rule}/{job}.tsv",
            "Snakemake's time and memory of one job (the SLURM profile's resources come "
            "from these)",
        ),
    ),
    "what the workflow keeps besides the studies' artifacts",
)

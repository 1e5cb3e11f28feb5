"""Every path declared once: the layouts, the study registry, and a search for copies."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from fooled.core.layout import WILDCARD, Layout, Reference, artifacts
from fooled.studies import registry

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import docs_tables  # noqa: E402

GENERATED = re.compile(r"<!-- BEGIN generated: (\S+) -->.*?<!-- END generated: \1 -->", re.S)


def test_a_layout_fills_matches_and_globs_its_templates(tmp_path):
    layout = Layout(
        "results/study",
        artifacts(
            model=("models/{name}/seed{seed}/model.keras", "a model"),
            table=("table.h5", "a table"),
        ),
    )
    assert layout.template("model") == "results/study/models/{name}/seed{seed}/model.keras"
    assert (
        layout.path("model", name="fc10", seed=3) == "results/study/models/fc10/seed3/model.keras"
    )
    assert layout.path("model", seed=0) == "results/study/models/{name}/seed0/model.keras"
    assert layout.match("model", "/x/results/study/models/fc10/seed3/model.keras") == {
        "name": "fc10",
        "seed": "3",
    }
    assert layout.match("model", "results/study/table.h5") is None
    with pytest.raises(KeyError, match="no wildcard epoch"):
        layout.path("model", epoch=1)
    with pytest.raises(KeyError, match="no artifact 'tabel'"):
        layout.path("tabel")
    below = layout.under(tmp_path)
    for name, seed in (("a", 0), ("b", 1)):
        path = Path(below.path("model", name=name, seed=seed))
        path.parent.mkdir(parents=True)
        path.touch()
    assert [Path(p).parts[-3] for p in layout.glob("model", tmp_path)] == ["a", "b"]
    assert Reference.parse("szegedy.attack") == Reference("szegedy", "attack")
    with pytest.raises(ValueError):
        Reference.parse("szegedy")


def test_every_registered_study_has_its_parts():
    schemas = ROOT / "workflow" / "schemas"
    for study in registry.STUDIES:
        assert (ROOT / study.rules).is_file(), study.rules
        assert (schemas / study.schema).is_file(), study.schema
        assert callable(registry.checks()[study.name])
        layout = study.study_layout().layout
        assert layout.root == f"results/{study.name}", study.name
        for name in study.study_layout().inputs:
            reference = study.study_layout().inputs[name]
            owner = registry.study(reference.owner).study_layout().layout
            assert reference.artifact in owner.artifacts, f"{study.name}: {reference}"
    on_disk = {path.stem.removesuffix(".schema") for path in (schemas / "studies").glob("*.yaml")}
    assert on_disk == set(registry.names())
    rule_files = {path.stem for path in (ROOT / "workflow/rules/studies").glob("*.smk")}
    assert rule_files == set(registry.names())


def test_no_two_artifacts_share_a_template():
    templates = [
        layout.template(name) for layout in docs_tables.layouts().values() for name in layout
    ]
    assert len(templates) == len(set(templates))


def _tracked_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [ROOT / name for name in listed if (ROOT / name).is_file()]


def _prefixes() -> dict[str, str]:
    """Each study artifact's path up to its first wildcard (a literal that names the file)."""
    prefixes = {}
    for study in registry.STUDIES:
        layout = study.study_layout().layout
        for name in layout:
            template = layout.template(name)
            prefix = WILDCARD.split(template)[0]
            prefixes[prefix] = f"{study.name}.{name}"
    return prefixes


def test_no_study_path_is_written_twice():
    """A study's artifact paths are written in its layout only: rules, stages, benchmarks,
    tools, tests and docs take them from there (the docs' tables are generated)."""
    prefixes = _prefixes()
    layouts = {str(ROOT / "src/fooled" / path) for path in ("core/layout.py",)}
    layouts |= {
        str(ROOT / "src/fooled/studies" / study.package.split(".")[-1] / "layout.py")
        for study in registry.STUDIES
    }
    offenders = []
    for path in _tracked_files():
        if str(path) in layouts or "reference" in path.relative_to(ROOT).parts:
            continue
        if path.suffix not in (".py", ".smk", ".md", ".yaml", ".rst", "") or path.name == "uv.lock":
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        text = GENERATED.sub("", text)
        for prefix, artifact in prefixes.items():
            if prefix in text:
                offenders.append(f"{path.relative_to(ROOT)}: {prefix} ({artifact})")
    assert not offenders, "\n".join(offenders)


def test_the_docs_tables_of_files_are_generated_from_the_layouts():
    assert docs_tables.main(["--check"]) == 0

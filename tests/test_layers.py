"""The package's layering: shared layers never import a study, and a study never imports another.

A study imported from a shared layer would make every study depend on it (and turning it off
would no longer remove it); one study importing another couples their configs and reports.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "fooled"
SHARED_LAYERS = ("core", "data", "models", "attacks")


def imported_modules(path: Path, package_root: Path = PACKAGE) -> set[str]:
    """Absolute names of the modules a file imports (relative imports resolved)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    parts = ("fooled",) + path.relative_to(package_root).with_suffix("").parts
    package = parts[:-1]  # a module's package; for __init__.py, the package itself
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ((node.module,) if node.module else ()))
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def test_imported_modules_resolves_relative_imports(tmp_path):
    module = tmp_path / "fooled" / "studies" / "x" / "stages.py"
    module.parent.mkdir(parents=True)
    module.write_text("from ..y import report\nfrom . import z\nimport numpy\n")
    names = imported_modules(module, package_root=tmp_path / "fooled")
    assert {"fooled.studies.y.report", "fooled.studies.x.z", "numpy"} <= names


def test_shared_layers_never_import_a_study():
    offenders = []
    for layer in SHARED_LAYERS:
        files = sorted((PACKAGE / layer).rglob("*.py"))
        assert files, f"no modules in layer {layer}"
        for path in files:
            studies = {name for name in imported_modules(path) if name.startswith("fooled.studies")}
            if studies:
                offenders.append(f"{path.relative_to(PACKAGE)}: {sorted(studies)}")
    assert not offenders, offenders


def test_a_study_never_imports_another_study():
    study_dirs = sorted(p for p in (PACKAGE / "studies").iterdir() if (p / "__init__.py").exists())
    assert len(study_dirs) >= 4
    offenders = []
    for study in study_dirs:
        for path in sorted(study.rglob("*.py")):
            others = {
                name.split(".")[2]
                for name in imported_modules(path)
                if name.startswith("fooled.studies.") and name.split(".")[2] != study.name
            }
            if others:
                offenders.append(f"{path.relative_to(PACKAGE)}: {sorted(others)}")
    assert not offenders, offenders

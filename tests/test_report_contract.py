"""Every study's report module says the same thing the same way (fooled.report.study), and a
report job never imports TensorFlow."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from report_checks import SRC

from fooled.report.study import is_plain
from fooled.studies import registry

ROOT = Path(__file__).resolve().parents[1]
# Every registered study's report module (fooled.studies.registry).
REPORTS = {study.name: f"{study.package}.{study.report}" for study in registry.STUDIES}


def test_every_study_report_module_has_the_same_names():
    for study, name in REPORTS.items():
        module = importlib.import_module(name)
        assert module.STUDY == study and module.TITLE, name
        assert dataclasses.is_dataclass(module.Artifacts), name
        assert list(inspect.signature(module.artifacts_of).parameters) == ["job"], name
        assert list(inspect.signature(module.summarise).parameters) == ["artifacts"], name
        assert list(inspect.signature(module.render).parameters) == ["summary", "figures"], name


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return found


def test_each_report_rule_runs_its_study_report_module_and_nothing_else():
    """The rule's script imports the stage runner, section_stage and the report module only:
    not the study's stage functions, which may import TensorFlow."""
    scripts = sorted((ROOT / "scripts").glob("*/report.py"))
    assert {script.parent.name for script in scripts} == set(REPORTS)
    for script in scripts:
        package, module = REPORTS[script.parent.name].rsplit(".", 1)
        assert _imports(script) == {
            "fooled.core.stage.run_script",
            "fooled.report.study.section_stage",
            f"{package}.{module}",
        }, script
        assert f"section_stage({module})" in script.read_text(), script


def test_the_report_modules_import_no_tensorflow():
    code = (
        "import importlib, json, sys\n"
        "for name in sys.argv[1:]:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules)))\n"
    )
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join([str(SRC), environment.get("PYTHONPATH", "")])
    run = subprocess.run(
        [sys.executable, "-c", code, "fooled.report.study", *REPORTS.values()],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert json.loads(run.stdout.strip().splitlines()[-1]) == []


def test_plain_data_is_what_json_holds():
    assert is_plain({"a": [1, 2.5, float("nan"), None, True, "x", {"b": []}]})
    assert not is_plain({"a": np.float32(1.0)})
    assert not is_plain({"a": np.arange(3)})
    assert not is_plain({1: "key not text"})
    assert not is_plain({"a": (1, 2)})

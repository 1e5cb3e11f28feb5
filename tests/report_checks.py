"""Checks every study's report passes: the contract of fooled.report.study, on real artifacts."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from fooled.report.html import Figures
from fooled.report.sections import Section, strict_json
from fooled.report.study import is_plain

SRC = Path(__file__).resolve().parents[1] / "src"


def summarise_and_render(
    report: ModuleType, artifacts: Any, folder: Path | None = None
) -> tuple[dict[str, Any], Section, Figures]:
    """``report.summarise`` then ``report.render``, checking what the contract promises: the
    summary is plain data that summary.json holds as it is, and the section carries it."""
    summary = report.summarise(artifacts)
    assert is_plain(summary), "the summary holds something other than plain data"
    copy = json.loads(json.dumps(summary))
    figures = Figures(folder, artifacts)
    section = report.render(summary, figures)
    assert summary == copy or strict_json(summary) == strict_json(copy), "render changed it"
    assert (section.study, section.title) == (report.STUDY, report.TITLE)
    assert section.summary == summary and section.html.startswith("<h2>")
    return summary, section, figures


def assert_no_tensorflow(report: ModuleType, artifacts: Any) -> None:
    """In a fresh interpreter, as a report job runs: import the study's report module,
    summarise and render; TensorFlow (and Keras) must not have been imported."""
    code = (
        "import importlib, json, sys\n"
        "from fooled.report.html import Figures\n"
        "report = importlib.import_module(sys.argv[1])\n"
        "artifacts = report.Artifacts(**json.loads(sys.argv[2]))\n"
        "section = report.render(report.summarise(artifacts), Figures(None, artifacts))\n"
        "assert section.html\n"
        "print(json.dumps(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules)))\n"
    )
    fields = json.dumps(dataclasses.asdict(artifacts), default=str)
    environment = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])
    )
    run = subprocess.run(
        [sys.executable, "-c", code, report.__name__, fields],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert json.loads(run.stdout.strip().splitlines()[-1]) == [], run.stdout

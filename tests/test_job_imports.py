"""Jobs that need no TensorFlow never import it: starting it costs a job about 3.5 s, and the
rules' conda environments for data and reports do not even hold it."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TF_FREE_ENVS = ("data.yaml", "report.yaml")


def tf_free_scripts() -> dict[str, Path]:
    """Rule -> script, for every rule whose conda environment has no TensorFlow."""
    found = {}
    for path in (ROOT / "workflow" / "rules").rglob("*.smk"):
        for block in re.split(r"\n(?=rule )", path.read_text()):
            env = re.search(r"conda:\s*\n\s*\"[^\"]*/envs/([\w.]+)\"", block)
            script = re.search(r"script:\s*\n\s*\"([^\"]+)\"", block)
            if env and script and env.group(1) in TF_FREE_ENVS:
                name = block.split()[1].rstrip(":")
                found[name] = (path.parent / script.group(1)).resolve()
    return found


def test_jobs_without_tensorflow_in_their_environment_never_import_it():
    scripts = tf_free_scripts()
    assert {"download_mnist", "mnist_sources", "report", "fooling_report"} <= set(scripts)
    for rule, script in scripts.items():
        modules = [
            f"{node.module}"
            for node in ast.walk(ast.parse(script.read_text()))
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("fooled")
        ]
        code = "; ".join(f"import {module}" for module in modules)
        code += "; import sys; print('tensorflow' in sys.modules, 'keras' in sys.modules)"
        run = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
        )
        assert run.stdout.split() == ["False", "False"], (
            f"{rule} ({script.name}) imports TensorFlow"
        )

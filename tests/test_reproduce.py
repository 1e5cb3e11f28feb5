"""The README's numbers come out of a fresh run: generated from the reference run's summary,
and the key ones checked against a new run of the default configuration."""

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from workflow_runner import run_snakemake, runner_environment

from fooled.core.fingerprint import numerics_fingerprint
from fooled.studies import README_PARTS

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "docs" / "reference"


def _value(document, path):
    for key in path.split("."):
        document = document[int(key)] if isinstance(document, list) else document[key]
    return document


def test_the_readme_tables_are_generated_from_the_reference_run():
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tools" / "readme_tables.py"),
            str(REFERENCE / "summary.json"),
            "--check",
            str(ROOT / "README.md"),
        ],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_every_key_number_is_in_the_reference_run():
    reference = json.loads((REFERENCE / "summary.json").read_text())
    for module in README_PARTS.values():
        for path in importlib.import_module(module).KEY_NUMBERS:
            assert isinstance(_value(reference, path), int | float), path


@pytest.mark.slow
def test_a_fresh_default_run_gives_the_key_numbers(tmp_path):
    """Exactly where the numerics fingerprint is the reference run's; within the stated
    tolerances on another processor or stack (README, "Reproducibility")."""
    reference = json.loads((REFERENCE / "summary.json").read_text())
    recorded = json.loads((REFERENCE / "environment.json").read_text())
    same_numerics = numerics_fingerprint() == recorded
    for module_name in README_PARTS.values():
        module = importlib.import_module(module_name)
        run = run_snakemake(
            tmp_path,
            ROOT / "config" / "config.yaml",
            "--cores",
            "2",
            *module.KEY_TARGETS,
            env=runner_environment(),
            timeout=1500,
        )
        assert run.returncode == 0, run.stderr[-3000:]
        fresh = module.key_summary(tmp_path)
        for path, tolerance in module.KEY_NUMBERS.items():
            ours, theirs = _value(fresh, path), _value(reference, path)
            if same_numerics or tolerance == 0:
                assert ours == theirs, f"{path}: {ours} != {theirs} (reference run)"
            else:
                assert abs(ours - theirs) <= tolerance, f"{path}: {ours} vs {theirs} ± {tolerance}"

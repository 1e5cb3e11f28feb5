"""The README's numbers come out of a fresh run: generated from the reference run's summary,
and the key ones checked against a new run of the default configuration."""

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from workflow_runner import run_snakemake, runner_environment

from fooled.core.fingerprint import differences, numerics_fingerprint
from fooled.core.timings import is_timing
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


def _check_readme(summary_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "tools" / "readme_tables.py"), str(summary_path)]
        + ["--check", str(ROOT / "README.md")],
        capture_output=True,
        text=True,
    )


def test_the_readme_check_compares_results_not_timings(tmp_path):
    """A fresh run's timings differ from the reference's; its results must not."""
    summary = json.loads((REFERENCE / "summary.json").read_text())
    fooling = summary["fooling"]["evolve"]
    for record in fooling.values():  # a timing the README shows (generations/s)
        record["generations_per_second_mean"] *= 1.37
    slower = tmp_path / "slower.json"
    slower.write_text(json.dumps(summary))
    assert _check_readme(slower).returncode == 0, _check_readme(slower).stdout

    fooling["lenet_direct"]["model_test_accuracy"] -= 0.01  # a result the README shows
    assert not is_timing("model_test_accuracy")
    different = tmp_path / "different.json"
    different.write_text(json.dumps(summary))
    run = _check_readme(different)
    assert run.returncode == 1 and "differ" in run.stdout


def test_every_key_number_is_in_the_reference_run():
    reference = json.loads((REFERENCE / "summary.json").read_text())
    for module in README_PARTS.values():
        for path in importlib.import_module(module).KEY_NUMBERS:
            assert isinstance(_value(reference, path), int | float), path


@pytest.mark.slow
@pytest.mark.exactness
def test_a_fresh_default_run_gives_the_key_numbers(tmp_path):
    """Exactly where the numerics fingerprint (versions, processor, BLAS kernels, caps) is
    the reference run's; within the stated tolerances elsewhere (README, "Reproducibility"),
    e.g. under another OpenBLAS core type."""
    reference = json.loads((REFERENCE / "summary.json").read_text())
    recorded = json.loads((REFERENCE / "environment.json").read_text())
    unlike = differences(numerics_fingerprint(), recorded)
    same_numerics = not unlike
    print(
        "numerics: the reference's" if same_numerics else "numerics differ:\n" + "\n".join(unlike)
    )
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

"""The README's numbers come out of a fresh run: generated from the reference run's summary,
and the key ones checked against a new run of the default configuration."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from workflow_runner import run_snakemake, runner_environment

from fooled.core.compare import PRIMARY, compare, reference_runs, reference_with_fingerprint
from fooled.core.fingerprint import differences, numerics_fingerprint
from fooled.core.timings import is_timing
from fooled.studies import registry

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
    for module in registry.readme_modules().values():
        for path in module.KEY_NUMBERS:
            assert isinstance(_value(reference, path), int | float), path


def test_the_key_tolerances_cover_the_measured_numerics_variants():
    """Each key number's tolerance on another machine covers how far it moved under every
    variant of the numerics measured here (benchmarks/bench_numerics.py: oneDNN's
    instruction set, oneDNN off, thread counts), from the package's own settings."""
    from fooled.studies.collisions.readme import KEY_NUMBERS, NUMERICS_MEASURES

    document = json.loads((REFERENCE / "numerics" / "variants.json").read_text())
    package = document["variants"]["package"]
    reference = json.loads((REFERENCE / "summary.json").read_text())
    for measure, path in NUMERICS_MEASURES.items():
        assert package[measure] == _value(reference, path), f"{measure}: not the reference's"
        spread = max(abs(v[measure] - package[measure]) for v in document["variants"].values())
        assert spread <= KEY_NUMBERS[path], f"{path}: moved {spread:.3g} > {KEY_NUMBERS[path]}"
    assert len(document["variants"]) > 1


def test_the_reference_runs_differ_only_where_their_kernels_do():
    """Each committed reference under another BLAS kernel: the same machine and packages
    (its fingerprint differs from the primary's in the BLAS kernel and OPENBLAS_L2_SIZE
    only), the same results to within 1e-6 relative, the same set of results."""
    runs = reference_runs(REFERENCE)
    primary = json.loads((REFERENCE / "environment.json").read_text())
    assert len(runs) >= 2, "no reference run under a second kernel (docs/reference/kernels/)"
    for name, folder in runs.items():
        if name == PRIMARY:
            continue
        recorded = json.loads((folder / "environment.json").read_text())
        assert {line.split(":")[0] for line in differences(recorded, primary)} <= {
            "blas",
            "OPENBLAS_L2_SIZE",
        }, name
        comparison = compare(
            json.loads((REFERENCE / "summary.json").read_text()),
            json.loads((folder / "summary.json").read_text()),
        )
        assert not comparison.only_in_one and not comparison.differing_other, name
        assert all(relative < 1e-6 for relative in comparison.differing_numbers.values()), name


@pytest.mark.slow
@pytest.mark.exactness
def test_a_fresh_default_run_gives_the_key_numbers(tmp_path):
    """Exactly where the numerics fingerprint (versions, processor, BLAS kernels, caps) is
    a committed reference run's (docs/reference/, docs/reference/kernels/*/); within the
    stated tolerances of the primary reference elsewhere (README, "Reproducibility")."""
    fingerprint = numerics_fingerprint()
    matching = reference_with_fingerprint(REFERENCE, fingerprint)
    folder = matching[1] if matching else REFERENCE
    reference = json.loads((folder / "summary.json").read_text())
    if matching:
        print(f"numerics of the reference run '{matching[0]}': compared exactly")
    else:
        recorded = json.loads((REFERENCE / "environment.json").read_text())
        print("numerics differ from every reference run; from the primary one:")
        print("\n".join(differences(fingerprint, recorded)))
    for module in registry.readme_modules().values():
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
            if matching or tolerance == 0:
                assert ours == theirs, f"{path}: {ours} != {theirs} (reference run)"
            else:
                assert abs(ours - theirs) <= tolerance, f"{path}: {ours} vs {theirs} ± {tolerance}"

"""The workflow runs the four ways Snakemake users run a published workflow: from its
checkout, with --directory elsewhere, with -s <checkout>/Snakefile from a folder holding a
config/ of its own, and as a `module` of another workflow (what `snakedeploy
deploy-workflow` writes). Files the workflow ships (schemas, default experiment lists,
scripts, environments, captions) are found beside it; files a user gives, in the working
directory."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from workflow_runner import ROOT, copy_test_config, job_counts, runner_environment

MODULE_SNAKEFILE = """\
configfile: "config/config.yaml"


module fooled:
    snakefile:
        "{snakefile}"
    config:
        config


use rule * from fooled as fooled_*
"""


def snakemake(cwd: Path, *arguments: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "snakemake", *arguments],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=runner_environment(),
        timeout=timeout,
    )


def planned_jobs(run: subprocess.CompletedProcess) -> int:
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    counts = job_counts(run.stdout + run.stderr)
    assert "total" in counts, run.stdout[-2000:]
    return counts["total"]


def deploy_as_module(folder: Path) -> None:
    copy_test_config(folder)
    (folder / "Snakefile").write_text(MODULE_SNAKEFILE.format(snakefile=ROOT / "Snakefile"))


@pytest.fixture(scope="module")
def checkout_plan() -> int:
    return planned_jobs(snakemake(ROOT, "--dry-run", "--quiet", "rules"))


def test_directory_elsewhere_runs_the_workflows_own_default_config(tmp_path, checkout_plan):
    run = snakemake(ROOT, "--directory", str(tmp_path), "--dry-run", "--quiet", "rules")
    assert planned_jobs(run) == checkout_plan
    assert not (tmp_path / "config").exists()  # nothing was copied there


def test_snakefile_from_another_folder_reads_that_folders_config(tmp_path, checkout_plan):
    copy_test_config(tmp_path)
    from_there = snakemake(tmp_path, "-s", str(ROOT / "Snakefile"), "--dry-run", "--quiet", "rules")
    directory = snakemake(ROOT, "--directory", str(tmp_path), "--dry-run", "--quiet", "rules")
    # The folder's config/ (the .test configuration and its lists), not the checkout's.
    assert planned_jobs(from_there) == planned_jobs(directory) != checkout_plan


def test_a_module_finds_the_workflows_files_and_the_users_config(tmp_path):
    deploy_as_module(tmp_path)
    run = snakemake(tmp_path, "--dry-run", "--quiet", "rules")
    jobs = planned_jobs(run)
    assert jobs > 10
    assert "fooled_train_mlp" in run.stdout + run.stderr


def test_a_bad_setting_in_a_modules_config_is_one_line(tmp_path):
    deploy_as_module(tmp_path)
    config = tmp_path / "config" / "config.yaml"
    config.write_text(config.read_text() + "\nunknown_key: 1\n")
    run = snakemake(tmp_path, "--dry-run", "--quiet")
    assert run.returncode != 0
    errors = [line for line in run.stderr.splitlines() if line.startswith("Config error")]
    assert len(errors) == 1 and "unknown_key" in errors[0], run.stderr[-2000:]


@pytest.mark.slow
def test_deployed_as_a_module_the_test_configuration_runs_to_the_end(tmp_path):
    """The .test configuration with the collisions study alone (shared rules, micro, macro,
    the exact polytope, the report): the other studies' rules are planned by the dry run
    above and run to the end in tests/test_workflow.py; here they would add two minutes to a
    suite near its budget without exercising any other way of finding files."""
    deploy_as_module(tmp_path)
    config_path = tmp_path / "config" / "config.yaml"
    config = yaml.safe_load(config_path.read_text())
    for study in ("szegedy", "fooling", "defences"):
        config["studies"].setdefault(study, {})["enabled"] = False
    config_path.write_text(yaml.safe_dump(config))
    run = snakemake(tmp_path, "--cores", "2", timeout=1200)
    assert run.returncode == 0, run.stderr[-4000:]
    summary = json.loads((tmp_path / "results" / "report" / "summary.json").read_text())
    assert "collisions_mnist" in summary and "szegedy" not in summary
    assert (tmp_path / "results" / "report" / "report.html").stat().st_size > 0
    # The user's folder holds the results; the checkout holds none of this run's files.
    assert (tmp_path / "resources" / "mnist" / "mnist.h5").is_file()
    assert (tmp_path / "logs").is_dir()

"""The tiny workflow through a real SLURM: a one-node cluster on 127.0.0.1 (slurm_cluster.py).

Runs the small end-to-end configuration's collisions study (.test/, as tests/test_workflow.py
does, the other studies turned off: STUDIES_OFF) twice, on
this machine and through ``--executor slurm`` with the repository's SLURM profile (its site
keys adapted to the test cluster, as a user adapts them to theirs), then checks that every job
went through SLURM (a job id in every rule log and artifact, each job recorded as COMPLETED)
but the download, a `localrules` job that runs where Snakemake runs (login nodes have the
internet), that the outputs' datasets equal the local run's, and that a failing job is reported
as failed.

Runs when CI is set (and fails there if the cluster cannot start) or with RUN_SLURM_TESTS=1
(`make test-slurm`); otherwise it is skipped, naming what is missing. Needs root and Debian's
munge, slurmctld, slurmd and slurm-client (.ci/run installs them under CI), the executor
plugin (pip install '.[slurm]'), and MNIST (MNIST_MIRROR offline).
"""

from __future__ import annotations

import json
import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml
from slurm_cluster import PARTITION, LocalSlurm, missing_requirements
from test_workflow import _datasets, snakemake
from workflow_runner import copy_test_config, run_snakemake, runner_environment

from fooled.core.timings import without_timings
from fooled.data.layout import MNIST
from fooled.models.layout import MODELS
from fooled.studies.collisions.layout import MNIST_LAYOUT

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
PROFILE = ROOT / "workflow" / "profiles" / "slurm" / "config.yaml"
INIT_SECONDS = 5  # first status check after 5 s; the cluster keeps jobs listed 600 s (>= 3x)
RUN_TIMEOUT = 900
# The jobs the Snakefile's `localrules` keep in the submitting process (rule `all`, without a
# script, too).
LOCAL_RULE_LOGS = [
    "logs/shared/download_mnist.log",
    # Copying a micro experiment's files out of its batch (a small script job).
    "logs/collisions_mnist/collide_micro/three_to_seven.log",
    "logs/collisions_mnist/collide_micro/one_to_four.log",
]
# Every other job of the tiny DAG (the .test config computes one micro experiment a batch).
RULE_LOGS = [
    "logs/shared/train_mlp.log",
    "logs/collisions_mnist/collide_micro_batch/micro0.log",
    "logs/collisions_mnist/collide_micro_batch/micro1.log",
    "logs/collisions_mnist/mnist_sources/macro_3_to_7.log",
    "logs/collisions_mnist/collide_macro/macro_3_to_7.log",
    "logs/collisions_mnist/report.log",
    "logs/report.log",
]
LOCAL_RULE_OUTPUTS = {"resources/mnist/mnist.h5"}
# The executor is what is tested: the collisions study's jobs (and the shared ones) exercise
# it, so the runs leave the other studies out (their jobs run to the end in test_workflow.py;
# with them the three runs took over 6 minutes of the suite's 20).
STUDIES_OFF = ("szegedy", "fooling", "defences", "card")
OUTPUTS = [
    MNIST.path("mnist"),
    MODELS.path("metrics", network="mlp"),
    *(
        MNIST_LAYOUT.path(stage, experiment=name)
        for stage in ("collide", "interpolate", "polytope")
        for name in ("three_to_seven", "one_to_four")
    ),
    MNIST_LAYOUT.path("collide", experiment="macro_3_to_7"),
]
# Summary keys that digest an input file's bytes (model.keras differs from run to run).
BYTE_DIGESTS = {"weights"}
JOB_ID_LINE = re.compile(r"SLURM_JOB_ID (\S+)")


def _enabled() -> bool:
    ci = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
    return ci or os.environ.get("RUN_SLURM_TESTS") == "1"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    missing = missing_requirements()
    if not _enabled():
        reason = "missing: " + "; ".join(missing) if missing else "everything it needs is here"
        pytest.skip(
            f"SLURM test runs under CI or with RUN_SLURM_TESTS=1 (make test-slurm); {reason}"
        )
    if missing:
        pytest.fail("cannot start the local SLURM cluster; missing: " + "; ".join(missing))
    cluster = LocalSlurm(tmp_path_factory.mktemp("slurm-cluster"))
    cluster.start()
    yield cluster
    cluster.stop()


def _test_profile(folder: Path, cluster: LocalSlurm) -> Path:
    """The repository's SLURM profile with the site keys a user sets, for the test cluster."""
    profile = yaml.safe_load(PROFILE.read_text())
    node = cluster.conf.read_text()
    cpus = int(re.search(r"CPUs=(\d+)", node).group(1))
    memory = int(re.search(r"RealMemory=(\d+)", node).group(1))
    # What this small node can give one job; the profile's per-rule sizes are for real nodes.
    for resources in [profile["default-resources"], *profile["set-resources"].values()]:
        if "cpus_per_task" in resources:
            resources["cpus_per_task"] = min(resources["cpus_per_task"], cpus)
        if "mem_mb" in resources:
            resources["mem_mb"] = min(resources["mem_mb"], memory // 2)
    profile["set-threads"] = {
        rule: min(threads, cpus) for rule, threads in profile["set-threads"].items()
    }
    profile["default-resources"]["slurm_partition"] = PARTITION
    profile.update(
        {
            # No slurmdbd here: squeue answers status queries, no account to check.
            "slurm-status-command": "squeue",
            "slurm-init-seconds-before-status-checks": INIT_SECONDS,
            "slurm-no-account": True,
            "slurm-keep-successful-logs": True,
            "retries": 0,
            "latency-wait": 10,
            "jobs": 4,
        }
    )
    target = folder / "profile"
    target.mkdir()
    (target / "config.yaml").write_text(yaml.safe_dump(profile, sort_keys=False))
    return target


def _slurm_snakemake(folder: Path, cluster: LocalSlurm, *arguments: str, env=None):
    environment = {**(env or runner_environment()), "SLURM_CONF": str(cluster.conf)}
    profile = str(_test_profile(folder, cluster))
    return run_snakemake(
        folder,
        None,
        "--workflow-profile",
        profile,
        *arguments,
        env=environment,
        timeout=RUN_TIMEOUT,
    )


def _job_id(log: Path) -> str:
    found = JOB_ID_LINE.search(log.read_text())
    assert found, f"{log} has no SLURM_JOB_ID line"
    return found.group(1)


@pytest.fixture(scope="module")
def runs(cluster, tmp_path_factory):
    """The three runs, at once (SLURM jobs mostly wait on the scheduler): name -> (folder, run)."""
    folders = {name: tmp_path_factory.mktemp(name) for name in ("local", "slurm", "failing")}
    for folder in folders.values():
        config_path = copy_test_config(folder)
        config = yaml.safe_load(config_path.read_text())
        for study in STUDIES_OFF:
            config["studies"][study]["enabled"] = False
        config_path.write_text(yaml.safe_dump(config))
    # A corrupt MNIST file where the (local) download would put it: training, a SLURM job,
    # must fail on it.
    corrupt = folders["failing"] / "resources" / "mnist" / "mnist.h5"
    corrupt.parent.mkdir(parents=True)
    corrupt.write_bytes(b"not an HDF5 file\n")
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {
            "local": pool.submit(snakemake, folders["local"]),
            "slurm": pool.submit(_slurm_snakemake, folders["slurm"], cluster),
            "failing": pool.submit(
                _slurm_snakemake,
                folders["failing"],
                cluster,
                "results/models/mlp/metrics.h5",
            ),
        }
        return {name: (folders[name], future.result()) for name, future in futures.items()}


@pytest.fixture(scope="module")
def local_run(runs):
    folder, run = runs["local"]
    assert run.returncode == 0, run.stderr[-4000:]
    return folder


@pytest.fixture(scope="module")
def slurm_run(runs):
    folder, run = runs["slurm"]
    assert run.returncode == 0, (run.stdout + run.stderr)[-6000:]
    return folder, run


def test_a_failing_job_is_reported_failed(cluster, runs):
    folder, run = runs["failing"]
    output = run.stdout + run.stderr
    assert run.returncode != 0, output[-4000:]
    log = folder / "logs/shared/train_mlp.log"
    job_id = _job_id(log)
    assert job_id.isdigit(), job_id
    assert f"SLURM-job '{job_id}' failed" in output, output[-4000:]
    assert "Error in rule train_mlp" in output
    assert "mnist.h5" in log.read_text()  # the stage's one-line error names the corrupt file
    assert cluster.completion_records().get(job_id) == "FAILED"
    assert cluster.job_states([job_id]).get(job_id) == "FAILED"
    assert not (folder / "results/models/mlp/metrics.h5").exists()
    assert not (folder / "results/models/mlp/model.keras").exists()


def test_every_job_went_through_slurm(cluster, slurm_run):
    folder, run = slurm_run
    logs = sorted(str(path.relative_to(folder)) for path in (folder / "logs").rglob("*.log"))
    assert set(RULE_LOGS) <= set(logs), logs
    for log in LOCAL_RULE_LOGS:
        assert _job_id(folder / log) == "-", f"{log}: a localrules job went to SLURM"
    logs = [log for log in logs if log not in LOCAL_RULE_LOGS]
    ids = {log: _job_id(folder / log) for log in logs}
    assert all(job_id.isdigit() for job_id in ids.values()), ids
    assert len(set(ids.values())) == len(logs), f"jobs shared an id: {ids}"
    records = cluster.completion_records()
    assert {log: records.get(job_id) for log, job_id in ids.items()} == dict.fromkeys(
        logs, "COMPLETED"
    )
    states = cluster.job_states(ids.values())
    assert {job_id: states.get(job_id) for job_id in ids.values()} == dict.fromkeys(
        ids.values(), "COMPLETED"
    )
    # Snakemake reported each submission, and the artifacts carry their job's id.
    output = run.stdout + run.stderr
    for job_id in ids.values():
        assert f"SLURM jobid {job_id}" in output
    with h5py.File(folder / MNIST_LAYOUT.path("collide", experiment="three_to_seven")) as handle:
        (log,) = [
            log
            for log in ids
            if "collide_micro_batch" in log and "three_to_seven" in (folder / log).read_text()
        ]
        assert handle.attrs["slurm_job_id"] == ids[log]
    assert any((folder / ".snakemake" / "slurm_logs").rglob("*.log"))


def test_outputs_equal_the_local_run(local_run, slurm_run):
    slurm_folder, _ = slurm_run
    made = {
        str(path.relative_to(local_run))
        for folder in ("resources", "results")
        for path in (local_run / folder).rglob("*.h5")
    }
    assert set(OUTPUTS) <= made, made
    for path in sorted(made):
        local, remote = _datasets(local_run / path), _datasets(slurm_folder / path)
        assert set(local) == set(remote), path
        for name, values in local.items():
            if "seconds" in name.rsplit("/", 1)[-1]:
                continue  # timings (lp_seconds, ...)
            np.testing.assert_array_equal(values, remote[name], err_msg=f"{path}:{name}")
        with h5py.File(local_run / path) as a, h5py.File(slurm_folder / path) as b:
            # Not input_checksums: each file's bytes differ (its attributes record times, ids).
            for key in ("config_digest", "seeds"):
                assert a.attrs.get(key) == b.attrs.get(key), f"{path}: {key}"
            assert "slurm_job_id" not in a.attrs
            # Made by a localrules job (the download) in the SLURM run too.
            assert ("slurm_job_id" in b.attrs) == (path not in LOCAL_RULE_OUTPUTS), path
    local, remote = (
        _without_timings(json.loads((folder / "results/report/summary.json").read_text()))
        for folder in (local_run, slurm_folder)
    )
    assert local == remote


def _without_timings(value):
    """The summary's results (fooled.core.timings), less the digests of run-specific bytes."""
    value = without_timings(value)
    if isinstance(value, dict):
        return {
            key: _without_timings(item) for key, item in value.items() if key not in BYTE_DIGESTS
        }
    if isinstance(value, list):
        return [_without_timings(item) for item in value]
    return value

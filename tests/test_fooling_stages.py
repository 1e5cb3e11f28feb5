"""The fooling stages on real MNIST and a small real LeNet: artifacts, kill and resume, report."""

import json
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from fooling_support import mnist_artifact, small_lenet_file
from report_checks import assert_no_tensorflow, summarise_and_render

from fooled.core import checkpoints, h5io
from fooled.core.config import schema_defaults
from fooled.core.stage import Job
from fooled.studies.fooling import readme, report, stages
from fooled.studies.fooling.paper import THRESHOLDS, threshold_key

SRC = Path(__file__).resolve().parents[1] / "src"
DEFAULTS = schema_defaults("studies/fooling.schema.yaml")
EVOLVE = DEFAULTS["defaults"]["evolve"]
QUICK = {"population_size": 20, "generations": 30, "checkpoint_every": 10}


def evolve_job(tmp_path: Path, name: str, run: int = 0, **changes) -> Job:
    settings = {**EVOLVE, **QUICK, "name": name, **changes}
    return Job.make(
        input={"model": str(small_lenet_file())},
        output={"result": str(tmp_path / f"{name}_{run}.h5")},
        params={"settings": settings},
        wildcards={"run": str(run)},
    )


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    """One evolve run per encoding, one ascent, one tiny retraining (shared by the tests)."""
    folder = tmp_path_factory.mktemp("fooling")
    logger = __import__("logging").getLogger("test")
    stages.evolve(evolve_job(folder, "lenet_direct"), logger)
    stages.evolve(evolve_job(folder, "lenet_cppn", encoding="cppn", generations=10), logger)
    ascend = {**DEFAULTS["defaults"]["ascend"], "name": "lenet_ascent", "steps": 60}
    stages.ascend(
        Job.make(
            input={"model": str(small_lenet_file()), "mnist": str(mnist_artifact())},
            output={"result": str(folder / "ascend.h5")},
            params={"settings": ascend},
        ),
        logger,
    )
    retrain = {
        **DEFAULTS["defaults"]["retrain"],
        "name": "lenet_retrain",
        "runs_per_round": 1,
        "population_size": 10,
        "generations": 8,
        "train_samples": 500,
        "fooling_class_size": 50,
    }
    stages.retrain(
        Job.make(
            input={"model": str(small_lenet_file()), "mnist": str(mnist_artifact())},
            output={"result": str(folder / "retrain.h5")},
            params={"settings": retrain, "evolve": EVOLVE},
        ),
        logger,
    )
    return folder


def test_evolve_artifact_layout(artifacts):
    path = artifacts / "lenet_direct_0.h5"
    arrays = h5io.read_arrays(
        path,
        ["elites", "elite_confidence", "confidence_history", "threshold_generation", "classes"],
    )
    assert arrays["elites"].shape == (10, 28, 28) and arrays["elites"].dtype == np.float32
    assert 0 <= arrays["elites"].min() and arrays["elites"].max() <= 1
    assert arrays["confidence_history"].shape == (31, 10)
    assert arrays["threshold_generation"].shape == (3, 10)
    assert arrays["threshold_generation"].dtype == np.int64
    np.testing.assert_array_equal(arrays["elite_confidence"], arrays["confidence_history"][-1])
    snapshots = h5io.read_arrays(path, ["elite_snapshots", "snapshot_generations"])
    assert snapshots["snapshot_generations"].tolist() == [0, 10, 20, 30]
    assert snapshots["elite_snapshots"].shape == (4, 10, 28, 28)
    np.testing.assert_array_equal(snapshots["elite_snapshots"][-1], arrays["elites"])
    attrs = h5io.read_attrs(path)
    assert attrs["encoding"] == "direct" and attrs["run"] == 0 and attrs["seed"] == 0
    assert attrs["pixel_high"] == 1.0 and attrs["dataset"] == "mnist" and attrs["resumed_from"] == 0
    assert attrs["config_json"]["settings"]["population_size"] == 20
    assert "model" in attrs["input_checksums"]
    assert not Path(f"{path}.checkpoint").exists()  # removed once the result is written
    with h5py.File(artifacts / "lenet_cppn_0.h5") as handle:
        assert set(handle["genome"]) == {"weights", "connected", "functions", "n_hidden"}


KILLER = """
import os, signal, sys, threading
from fooled.core import h5io
from fooled.core.stage import Job
from fooled.studies.fooling import readme, report, stages
from fooled.studies.fooling.paper import THRESHOLDS, threshold_key
real_write = h5io.write_artifact

def write_then_die(path, *args, **kwargs):
    real_write(path, *args, **kwargs)
    if str(path).endswith(".checkpoint"):  # killed a moment after the first checkpoint
        threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGKILL)).start()

stages.h5io.write_artifact = write_then_die
job = Job.make(**__import__("json").loads(sys.argv[1]))
stages.evolve(job, __import__("logging").getLogger("killed"))
"""


@pytest.mark.exactness
def test_a_killed_evolve_job_resumes_with_identical_results(tmp_path):
    job = evolve_job(tmp_path / "killed", "lenet_direct", run=1, generations=100)
    description = json.dumps(
        {"input": job.input, "output": job.output, "params": job.params, "wildcards": job.wildcards}
    )
    environment = {**os.environ, "PYTHONPATH": str(SRC)}
    killed = subprocess.run(
        [sys.executable, "-c", KILLER, description], env=environment, capture_output=True
    )
    assert killed.returncode == -9, killed.stderr.decode()[-2000:]
    checkpoint = Path(f"{job.output.result}.checkpoint")
    assert checkpoint.exists() and not Path(job.output.result).exists()
    done = h5io.read_attrs(checkpoint)["generation"]
    assert 10 <= done < 100

    logger = __import__("logging").getLogger("resumed")
    stages.evolve(job, logger)  # the rerun after the kill
    reference = evolve_job(tmp_path / "whole", "lenet_direct", run=1, generations=100)
    stages.evolve(reference, logger)
    resumed, whole = h5io.read_attrs(job.output.result), h5io.read_attrs(reference.output.result)
    assert resumed["resumed_from"] >= done and whole["resumed_from"] == 0
    names = ["elites", "confidence_history", "threshold_generation", "genome/pixels"]
    first = h5io.read_arrays(job.output.result, names)
    second = h5io.read_arrays(reference.output.result, names)
    for name in names:
        assert np.array_equal(first[name], second[name]), name
    assert not checkpoint.exists()


def test_a_checkpoint_of_other_settings_is_not_resumed(tmp_path):
    logger = __import__("logging").getLogger("test")
    job = evolve_job(tmp_path, "lenet_direct", generations=20)
    other = evolve_job(tmp_path, "lenet_direct", generations=20, population_size=12)
    stale = Path(f"{job.output.result}.checkpoint")
    key = checkpoints.resume_key(
        {"settings": dict(other.params.settings), "run": 0, "model": "lenet"},
        {"model": job.input.model},
    )
    h5io.write_artifact(stale, {"elite_fitness": np.zeros(10)}, {}, {"resume_key": key})
    stages.evolve(job, logger)
    assert h5io.read_attrs(job.output.result)["resumed_from"] == 0


def test_ascend_and_retrain_artifact_layouts(artifacts):
    arrays = h5io.read_arrays(
        artifacts / "ascend.h5",
        ["images", "start_images", "start_class", "target_classes", "threshold_step"],
    )
    assert arrays["images"].shape == (20, 28, 28)  # 10 noise starts, 10 real digits
    assert (arrays["start_class"][:10] == -1).all()
    np.testing.assert_array_equal(
        arrays["start_class"][10:], (arrays["target_classes"][10:] + 1) % 10
    )
    assert arrays["threshold_step"].shape == (3, 20)
    retrain = h5io.read_arrays(
        artifacts / "retrain.h5",
        [
            "test_accuracy",
            "fooling_train_images",
            "fooling_recognised",
            "elites",
            "threshold_generation",
        ],
    )
    assert retrain["elites"].shape == (2, 1, 10, 28, 28)
    assert retrain["threshold_generation"].shape == (2, 1, 3, 10)
    assert retrain["fooling_train_images"].tolist() == [0, 10]
    assert np.isnan(retrain["fooling_recognised"][0]) and 0 <= retrain["fooling_recognised"][1] <= 1
    assert 0.5 < retrain["test_accuracy"][1] <= 1


def test_report_section(artifacts, tmp_path):
    job = Job.make(
        input={
            "evolve": [str(artifacts / "lenet_direct_0.h5"), str(artifacts / "lenet_cppn_0.h5")],
            "ascend": [str(artifacts / "ascend.h5")],
            "retrain": str(artifacts / "retrain.h5"),
        },
        output={"html": str(tmp_path / "fooling.html"), "summary": str(tmp_path / "fooling.json")},
        params={"report": DEFAULTS["report"]},
    )
    stages.report_section(job, __import__("logging").getLogger("test"))
    summary = json.loads((tmp_path / "fooling.json").read_text())
    assert summary["study"] == "fooling"
    assert set(summary["evolve"]) == {"lenet_direct", "lenet_cppn"}
    direct = summary["evolve"]["lenet_direct"]
    assert direct["runs"] == 1 and direct["generations"] == 30 and direct["n_classes"] == 10
    assert 0 <= direct["fraction_at_top_mean"] <= 1 and "99.99%" in direct["thresholds"]
    assert "population 20 (authors: 200)" in direct["departures"]
    assert set(summary["ascend"]["lenet_ascent"]["starts"]) == {"noise", "image"}
    assert len(summary["retrain"]["lenet_retrain"]["rounds"]) == 2
    html = (tmp_path / "fooling.html").read_text()
    assert html.startswith("<h2>") and html.count("<img") == 2 * 2 + 1
    assert "paper (as recalled in STUDIES.md)" in html


def _report_artifacts(artifacts) -> report.Artifacts:
    return report.Artifacts(
        evolve=[str(artifacts / "lenet_direct_0.h5"), str(artifacts / "lenet_cppn_0.h5")],
        ascend=[str(artifacts / "ascend.h5")],
        retrain=[str(artifacts / "retrain.h5")],
        settings=DEFAULTS["report"],
    )


def test_summarise_and_render(artifacts, tmp_path):
    summary, section, figures = summarise_and_render(
        report, _report_artifacts(artifacts), tmp_path / "figures"
    )
    direct = summary["evolve"]["lenet_direct"]
    assert list(direct["thresholds"]) == [threshold_key(t) for t in THRESHOLDS]
    assert direct["generations"] == 30 and direct["model_test_accuracy"] is None
    assert set(summary["ascend"]["lenet_ascent"]["starts"]) == {"noise", "image"}
    assert summary["artifacts"] == {"evolve": 2, "ascend": 1, "retrain": 1}
    assert section.html.count("<img") == len(figures.written) == 2 * 2 + 1
    assert "lenet_direct_elites.png" in {path.name for path in figures.written}


def test_the_report_runs_without_tensorflow(artifacts):
    assert_no_tensorflow(report, _report_artifacts(artifacts))


def test_the_readme_table_takes_the_paper_s_thresholds_from_any_run(artifacts):
    summary = report.summarise(_report_artifacts(artifacts))
    assert "| lenet_direct | lenet | direct | 1 x 30 (20) |" in readme.evolution_table(summary)
    # A run without the 99.99% threshold (or any other of the paper's): dashes, no error.
    for record in summary["evolve"].values():
        del record["thresholds"]["99.99%"]
    for start in summary["ascend"]["lenet_ascent"]["starts"].values():
        del start["thresholds"]["99.99%"]
    table = readme.evolution_table(summary)
    assert "classes >= 99% / 99.9% / 99.99% | median generation to 99.99%" in table
    assert "% / - | - |" in table and "| step - | - |" in table

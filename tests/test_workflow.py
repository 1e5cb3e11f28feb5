"""The real Snakemake DAG on a tiny configuration, in a temporary folder.

Needs MNIST: from MNIST_MIRROR when set (CI points it at the offline mirror),
else from the default internet mirrors, exactly as a user's run would.
"""

import json
import os
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml
from workflow_runner import run_snakemake

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = [
    {
        "name": "three_to_seven",
        "seed": {"class": 3, "index": 0},
        "target": {"class": 7, "index": 0},
    },
    {"name": "one_to_four", "seed": {"class": 1, "index": 0}, "target": {"class": 4, "index": 0}},
]
TIMING_ATTRIBUTES = {"seconds", "trace_seconds", "train_seconds"}


def _environment() -> dict[str, str]:
    environment = dict(os.environ)
    if environment.get("MNIST_MIRROR") and "://" not in environment["MNIST_MIRROR"]:
        environment["MNIST_MIRROR"] = str(Path(environment["MNIST_MIRROR"]).resolve())
    return environment


def _write_tiny_config(folder: Path, experiments=EXPERIMENTS) -> None:
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    config["mnist"].update(retries=1, backoff_seconds=0.1)
    config["train"].update(epochs=1, max_train_samples=5000)
    config["collide_defaults"].update(n_corners=2, max_steps=300)
    config["interpolate"].update(n_samples=200, n_dataset_images=50)
    config["report"]["paper_case"] = "three_to_seven"
    # The macro-level MNIST experiment (config/experiments/mnist_macro.yaml), shrunk.
    config["macro"]["defaults"].update(
        n_corners=2,
        max_steps=200,
        chunk_steps=50,
        checkpoint_every=100,
        schedule={"boundaries": [50, 100], "values": [0.01, 0.05, 0.01]},
    )
    config["macro"]["mnist_patches"].update(n_images=500)
    config["experiment_lists"] = ["experiments.yaml"]
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    (folder / "experiments.yaml").write_text(yaml.safe_dump(experiments))


def snakemake(folder: Path, *arguments: str, env: dict[str, str] | None = None):
    return run_snakemake(
        folder, folder / "config.yaml", "--cores", "2", *arguments, env=env or _environment()
    )


def _datasets(path: Path) -> dict[str, np.ndarray]:
    arrays = {}
    with h5py.File(path) as handle:
        handle.visititems(
            lambda name, node: (
                arrays.__setitem__(name, node[()]) if isinstance(node, h5py.Dataset) else None
            )
        )
    return arrays


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny")
    _write_tiny_config(folder)
    run = snakemake(folder)
    assert run.returncode == 0, run.stderr[-4000:]
    return folder


@pytest.mark.slow
def test_artifacts_have_the_documented_shapes(tiny_run):
    with h5py.File(tiny_run / "resources/mnist/mnist.h5") as handle:
        assert handle["train/images"].shape == (60000, 28, 28)
        assert handle["test/labels"].shape == (10000,)
        assert "config_digest" in handle.attrs and "sha256_raw" in handle.attrs
    assert (tiny_run / "results/mnist/model/model.keras").is_file()
    with h5py.File(tiny_run / "results/mnist/collide/three_to_seven.h5") as handle:
        assert handle["corners"].shape == (2, 28, 28)
        steps = handle.attrs["steps_run"]
        assert handle["loss_pos"].shape == (steps + 1, 2)
        assert handle["preact_corners"].shape == (2, 256)
        assert handle["corner_probabilities"].shape == (2, 10)
        assert handle.attrs["layer"] == "fc1"
        for key in ("config_digest", "library_versions", "input_checksums", "seeds"):
            assert key in handle.attrs
        corners = handle["corners"][()]
        assert corners.min() >= 0 and corners.max() <= 1
    with h5py.File(tiny_run / "results/mnist/interpolate/three_to_seven.h5") as handle:
        assert handle["weights"].shape == (200, 2)
        np.testing.assert_allclose(handle["weights"][()].sum(axis=1), 1, atol=1e-5)
        assert 0 <= handle.attrs["interp_top_class_accuracy"] <= 1


@pytest.mark.slow
def test_macro_experiment_artifacts(tiny_run):
    with h5py.File(tiny_run / "results/mnist/sources/macro_3_to_7.h5") as handle:
        assert handle["sources"].shape == (121, 28, 28, 1)
        np.testing.assert_allclose(handle["weights"][()].sum(axis=0), 1, atol=1e-5)
    with h5py.File(tiny_run / "results/mnist/collide/macro_3_to_7.h5") as handle:
        assert handle.attrs["mode"] == "macro" and handle.attrs["steps_run"] == 200
        assert handle["corners"].shape == (2, 28, 28)
        assert handle["loss_tv"].shape == (201, 2) and handle["logits"].shape == (2, 121, 28, 28)
        corners = handle["corners"][()]
        assert corners.min() >= 0 and corners.max() <= 1
    assert not (tiny_run / "results/checkpoints/macro_3_to_7.h5").exists()
    with h5py.File(tiny_run / "results/mnist/interpolate/macro_3_to_7.h5") as handle:
        assert handle["weights"].shape == (200, 2)


@pytest.mark.slow
def test_report_and_summary(tiny_run):
    summary = json.loads((tiny_run / "results/report/summary.json").read_text())
    assert 0.5 < summary["model"]["mnist_mlp"]["test_accuracy"] <= 1
    assert set(summary["experiments"]) == {"three_to_seven", "one_to_four", "macro_3_to_7"}
    for record in summary["experiments"].values():
        for key in (
            "mode",
            "interp_top_class_accuracy",
            "target_prob",
            "interp_prob_mean",
            "dist_corners_mean",
            "dist_dataset_mean",
            "corners_converged",
            "seconds",
        ):
            assert key in record, key
    assert summary["experiments"]["three_to_seven"]["mode"] == "micro"
    assert summary["experiments"]["macro_3_to_7"]["mode"] == "macro"
    html = (tiny_run / "results/report/report.html").read_text()
    assert "three_to_seven" in html and "10.21" in html and "data:image/png;base64" in html


@pytest.mark.slow
def test_same_seeds_give_identical_datasets(tiny_run):
    paths = [
        "results/mnist/model/metrics.h5",
        "results/mnist/collide/three_to_seven.h5",
        "results/mnist/interpolate/one_to_four.h5",
    ]
    first = {path: _datasets(tiny_run / path) for path in paths}
    run = snakemake(tiny_run, "--forcerun", "train_model")
    assert run.returncode == 0, run.stderr[-4000:]
    for path in paths:
        again = _datasets(tiny_run / path)
        assert set(again) == set(first[path])
        for name, values in first[path].items():
            np.testing.assert_array_equal(values, again[name], err_msg=f"{path}:{name}")


@pytest.mark.slow
def test_changing_one_experiment_reruns_only_its_jobs(tiny_run):
    untouched = [
        tiny_run / "results/mnist/collide/three_to_seven.h5",
        tiny_run / "results/mnist/interpolate/three_to_seven.h5",
        tiny_run / "results/mnist/model/model.keras",
    ]
    changed = tiny_run / "results/mnist/collide/one_to_four.h5"
    before = {path: path.stat().st_mtime_ns for path in [*untouched, changed]}
    experiments = [dict(entry) for entry in EXPERIMENTS]
    experiments[1]["learning_rate"] = 0.004
    (tiny_run / "experiments.yaml").write_text(yaml.safe_dump(experiments))

    run = snakemake(tiny_run)
    assert run.returncode == 0, run.stderr[-4000:]
    for path in untouched:
        assert path.stat().st_mtime_ns == before[path], f"{path.name} was rebuilt"
    assert changed.stat().st_mtime_ns > before[changed]
    with h5py.File(changed) as handle:
        assert handle.attrs["learning_rate"] == 0.004
    assert "Nothing to be done" in snakemake(tiny_run, "--dry-run").stdout


def test_bad_config_stops_the_workflow_with_one_line(tmp_path):
    _write_tiny_config(tmp_path, [{**EXPERIMENTS[0], "target": {"class": 11, "index": 0}}])
    run = snakemake(tmp_path, "--dry-run")
    assert run.returncode != 0
    lines = [line for line in run.stderr.splitlines() if "Config error" in line]
    assert lines == [
        "Config error: experiments.yaml: [0].target.class: 11 is greater than the maximum of 9"
    ]


def test_failed_download_names_the_source_and_leaves_nothing(tmp_path):
    _write_tiny_config(tmp_path)
    empty_mirror = tmp_path / "empty-mirror"
    empty_mirror.mkdir()
    run = snakemake(
        tmp_path,
        "resources/mnist/mnist.h5",
        env={**_environment(), "MNIST_MIRROR": str(empty_mirror)},
    )
    assert run.returncode != 0
    log = (tmp_path / "logs/download_mnist.log").read_text()
    assert str(empty_mirror) in log and "not found" in log
    assert not (tmp_path / "resources/mnist").exists() or not any(
        (tmp_path / "resources/mnist").iterdir()
    )

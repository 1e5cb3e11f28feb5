"""The real Snakemake DAG on the small .test/ configuration, in a temporary folder.

Needs MNIST: from MNIST_MIRROR when set (CI points it at the offline mirror),
else from the default internet mirrors, exactly as a user's run would.
"""

import json
import os
import re
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml
from workflow_runner import copy_test_config, run_snakemake, runner_environment

from fooled.core import integrity
from fooled.studies.collisions.layout import MNIST_LAYOUT
from fooled.studies.defences.layout import LAYOUT as DEFENCES_LAYOUT
from fooled.studies.fooling.layout import LAYOUT as FOOLING
from fooled.studies.szegedy.layout import LAYOUT as SZEGEDY

TIMING_DATASETS = {"lp_seconds"}  # wall-clock time of each LP: the one dataset that varies
CM = MNIST_LAYOUT  # the collisions study's files
DF = DEFENCES_LAYOUT


def snakemake(folder: Path, *arguments: str, env: dict[str, str] | None = None):
    return run_snakemake(folder, None, "--cores", "2", *arguments, env=env or runner_environment())


def _datasets(path: Path) -> dict[str, np.ndarray]:
    arrays = {}
    with h5py.File(path) as handle:
        handle.visititems(
            lambda name, node: (
                arrays.__setitem__(name, node[()]) if isinstance(node, h5py.Dataset) else None
            )
        )
    return arrays


OWN_MODEL = "models/mine.keras"  # the robustness card's model of the user's, made here


def add_own_model(folder: Path, payload: bytes | None = None) -> Path:
    """A small model file of the user's in ``folder`` (or ``payload`` as that file), named in
    the copied config's card section."""
    path = folder / OWN_MODEL
    path.parent.mkdir(parents=True, exist_ok=True)
    if payload is None:
        from test_card import own_model

        own_model(path)
    else:
        path.write_bytes(payload)
    config_path = folder / "config" / "config.yaml"
    config = yaml.safe_load(config_path.read_text())
    card = config["studies"]["card"]
    card["model"] = {"path": OWN_MODEL, "name": "mine", "pixel_max": 255, "layer": "hidden"}
    config_path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny")
    copy_test_config(folder)
    add_own_model(folder)
    run = snakemake(folder)
    assert run.returncode == 0, run.stderr[-4000:]
    return folder


@pytest.mark.slow
def test_artifacts_have_the_documented_shapes(tiny_run):
    with h5py.File(tiny_run / "resources/mnist/mnist.h5") as handle:
        assert handle["train/images"].shape == (60000, 28, 28)
        assert handle["test/labels"].shape == (10000,)
        assert "config_digest" in handle.attrs and "sha256_raw" in handle.attrs
    assert (tiny_run / "results/models/mlp/model.keras").is_file()
    with h5py.File(tiny_run / CM.path("collide", experiment="three_to_seven")) as handle:
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
    with h5py.File(tiny_run / CM.path("interpolate", experiment="three_to_seven")) as handle:
        assert handle["weights"].shape == (200, 2)
        np.testing.assert_allclose(handle["weights"][()].sum(axis=1), 1, atol=1e-5)
        assert 0 <= handle.attrs["interp_top_class_accuracy"] <= 1
    with h5py.File(tiny_run / CM.path("polytope", experiment="three_to_seven")) as handle:
        assert handle["lp_corners"].shape == (2, 28, 28) and handle.attrs["applicable"]
    # Every rule records its time and memory (the SLURM profile's resources come from these).
    benchmarks = sorted(p.parent.name for p in (tiny_run / "results/benchmarks").rglob("*.tsv"))
    assert {"download_mnist", "train_mlp", "collide_micro", "collide_macro", "report"} <= set(
        benchmarks
    )


@pytest.mark.slow
def test_macro_experiment_artifacts(tiny_run):
    with h5py.File(tiny_run / CM.path("sources", experiment="macro_3_to_7")) as handle:
        assert handle["sources"].shape == (121, 28, 28, 1)
        np.testing.assert_allclose(handle["weights"][()].sum(axis=0), 1, atol=1e-5)
    with h5py.File(tiny_run / CM.path("collide", experiment="macro_3_to_7")) as handle:
        assert handle.attrs["mode"] == "macro" and handle.attrs["steps_run"] == 200
        assert handle["corners"].shape == (2, 28, 28)
        assert handle["loss_tv"].shape == (201, 2) and handle["logits"].shape == (2, 121, 28, 28)
        corners = handle["corners"][()]
        assert corners.min() >= 0 and corners.max() <= 1
    assert not list((tiny_run / "results/checkpoints").rglob("*.h5"))
    with h5py.File(tiny_run / CM.path("interpolate", experiment="macro_3_to_7")) as handle:
        assert handle["weights"].shape == (200, 2)
    log = (tiny_run / "logs/collisions_mnist/collide_macro/macro_3_to_7.log").read_text()
    assert "macro corners: step 200/200" in log  # progress a person can follow


@pytest.mark.slow
def test_report_and_summary(tiny_run):
    summary = json.loads((tiny_run / "results/report/summary.json").read_text())
    assert set(summary) == {
        "collisions_mnist", "szegedy", "fooling", "defences", "card", "provenance"
    }  # fmt: skip
    study = summary["collisions_mnist"]
    assert 0.5 < study["model"]["mnist_mlp"]["test_accuracy"] <= 1
    assert set(study["experiments"]) == {"three_to_seven", "one_to_four", "macro_3_to_7"}
    for record in study["experiments"].values():
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
    assert study["experiments"]["three_to_seven"]["mode"] == "micro"
    assert study["experiments"]["macro_3_to_7"]["mode"] == "macro"
    html = (tiny_run / "results/report/report.html").read_text()
    assert "three_to_seven" in html and "10.21" in html and "data:image/png;base64" in html
    figures = tiny_run / "results/report/collisions_mnist/figures"
    assert (figures / "three_to_seven_corners.png").is_file()
    assert (figures / "macro_3_to_7_composites.png").is_file()


@pytest.mark.slow
def test_snakemakes_own_report_builds(tiny_run):
    run = snakemake(tiny_run, "--report", "report.zip")
    assert run.returncode == 0, run.stderr[-3000:]
    assert (tiny_run / "report.zip").stat().st_size > 10_000


@pytest.mark.slow
def test_same_seeds_give_identical_datasets(tiny_run):
    paths = [
        "results/models/mlp/metrics.h5",
        CM.path("collide", experiment="three_to_seven"),
        CM.path("interpolate", experiment="one_to_four"),
        CM.path("polytope", experiment="one_to_four"),
    ]
    first = {path: _datasets(tiny_run / path) for path in paths}
    run = snakemake(tiny_run, "--forcerun", "train_mlp")
    assert run.returncode == 0, run.stderr[-4000:]
    for path in paths:
        again = _datasets(tiny_run / path)
        assert set(again) == set(first[path])
        for name, values in first[path].items():
            if name not in TIMING_DATASETS:
                np.testing.assert_array_equal(values, again[name], err_msg=f"{path}:{name}")


@pytest.mark.slow
def test_changing_one_experiment_reruns_only_its_jobs(tiny_run):
    untouched = [
        tiny_run / CM.path("collide", experiment="three_to_seven"),
        tiny_run / CM.path("interpolate", experiment="three_to_seven"),
        tiny_run / CM.path("collide", experiment="macro_3_to_7"),
        tiny_run / "results/models/mlp/model.keras",
    ]
    changed = tiny_run / CM.path("collide", experiment="one_to_four")
    before = {path: path.stat().st_mtime_ns for path in [*untouched, changed]}
    experiments_path = tiny_run / "config/studies/collisions_mnist/micro.yaml"
    experiments = yaml.safe_load(experiments_path.read_text())
    experiments[1]["learning_rate"] = 0.004
    experiments_path.write_text(yaml.safe_dump(experiments))

    run = snakemake(tiny_run)
    assert run.returncode == 0, run.stderr[-4000:]
    for path in untouched:
        assert path.stat().st_mtime_ns == before[path], f"{path.name} was rebuilt"
    assert changed.stat().st_mtime_ns > before[changed]
    with h5py.File(changed) as handle:
        assert handle.attrs["learning_rate"] == 0.004
    assert "Nothing to be done" in snakemake(tiny_run, "--dry-run").stdout


@pytest.mark.slow
def test_a_damaged_artifact_is_rebuilt_not_failed_on(tiny_run):
    """A truncated upstream file is moved aside and made again; downstream follows."""
    damaged = tiny_run / CM.path("collide", experiment="three_to_seven")
    downstream = tiny_run / "results/report/collisions_mnist/summary.json"
    good = _datasets(damaged)
    with open(damaged, "r+b") as handle:
        handle.truncate(damaged.stat().st_size // 2)
    assert integrity.check(damaged) is not None
    run = snakemake(tiny_run)
    assert run.returncode == 0, run.stderr[-4000:]
    assert f"{CM.path('collide', experiment='three_to_seven')}: damaged" in run.stdout + run.stderr
    again = _datasets(damaged)
    for name, values in good.items():
        np.testing.assert_array_equal(values, again[name], err_msg=name)
    assert downstream.is_file() and (damaged.parent / "three_to_seven.h5.damaged").is_file()


def _disk(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under results/ and resources/: size and mtime (what a dry run must keep)."""
    return {
        str(path.relative_to(folder)): (path.stat().st_size, path.stat().st_mtime_ns)
        for top in ("results", "resources")
        for path in (folder / top).rglob("*")
        if path.is_file()
    }


@pytest.mark.slow
def test_a_damaged_file_is_never_forgotten(tiny_run):
    """Damage, a dry run (changes nothing), a run that stops before the rebuild (here
    --until an unrelated rule), then a run: the file and what depends on it are made again."""
    damaged = tiny_run / DF.path("fgsm")
    score = tiny_run / DF.path("score")
    good = _datasets(damaged)
    damaged.write_bytes(os.urandom(20_000))
    score_before = score.stat().st_mtime_ns

    before = _disk(tiny_run)
    run = snakemake(tiny_run, "--dry-run")
    assert run.returncode == 0, run.stderr[-3000:]
    assert f"{DF.path('fgsm')}: damaged" in run.stdout + run.stderr
    assert _disk(tiny_run) == before  # a dry run moves nothing

    run = snakemake(tiny_run, "--until", "train_mlp")  # moves it aside, stops before remaking it
    assert run.returncode == 0, run.stderr[-3000:]
    assert not damaged.exists() and (damaged.parent / "fgsm.h5.damaged").is_file()

    run = snakemake(tiny_run, "--dry-run")  # still known: the dry run plans its rebuild
    assert run.returncode == 0, run.stderr[-3000:]
    assert re.search(r"^rule defences_fgsm:", run.stdout, re.MULTILINE), run.stdout[-3000:]
    assert "Nothing to be done" not in run.stdout

    run = snakemake(tiny_run)
    assert run.returncode == 0, run.stderr[-3000:]
    again = _datasets(damaged)
    for name, values in good.items():
        np.testing.assert_array_equal(values, again[name], err_msg=name)
    assert score.stat().st_mtime_ns > score_before  # what depends on it ran again
    assert "Nothing to be done" in snakemake(tiny_run, "--dry-run").stdout


@pytest.mark.slow
def test_damage_without_a_record_is_repaired(tiny_run):
    """No side record (deleted): the file is checked by opening it, before any job runs."""
    damaged = tiny_run / DF.path("fgsm")
    score = tiny_run / DF.path("score")
    integrity.record_path(damaged).unlink()
    with open(damaged, "r+b") as handle:
        handle.truncate(20_000)
    run = snakemake(tiny_run)
    assert run.returncode == 0, run.stderr[-3000:]
    assert f"{DF.path('fgsm')}: damaged (not a readable HDF5 file" in run.stdout + run.stderr
    with h5py.File(damaged) as handle, h5py.File(score) as scored:
        assert handle.attrs["config_digest"] and scored.attrs["config_digest"]
    assert integrity.check(damaged) is None and integrity.record_path(damaged).is_file()


@pytest.mark.slow
def test_turning_a_study_off_removes_its_jobs(tiny_run, tmp_path):
    copy_test_config(tmp_path)
    config_path = tmp_path / "config" / "config.yaml"
    config = yaml.safe_load(config_path.read_text())
    config["studies"]["collisions_mnist"]["enabled"] = False
    config_path.write_text(yaml.safe_dump(config))
    run = snakemake(tmp_path, "--dry-run")
    assert run.returncode == 0, run.stderr[-2000:]
    output = run.stdout + run.stderr
    assert "rule report:" in output and "rule szegedy_report:" in output
    # The study's own jobs leave the DAG; the shared MLP stays (the defences study uses it).
    assert not {"collide_micro", "mnist_sources", "collide_macro", "collisions_mnist_report"} & set(
        re.findall(r"^rule (\w+):", output, re.MULTILINE)
    )
    assert "rule train_mlp:" in output


def test_bad_config_stops_the_workflow_with_one_line(tmp_path):
    copy_test_config(tmp_path)
    experiments_path = tmp_path / "config/studies/collisions_mnist/micro.yaml"
    experiments = yaml.safe_load(experiments_path.read_text())
    experiments[0]["target"]["class"] = 11
    experiments_path.write_text(yaml.safe_dump(experiments))
    run = snakemake(tmp_path, "--dry-run")
    assert run.returncode != 0
    lines = [line for line in run.stderr.splitlines() if "Config error" in line]
    assert lines == [
        "Config error: config/studies/collisions_mnist/micro.yaml: [0].target.class: 11 is "
        "greater than the maximum of 9"
    ]


def test_a_yaml_error_in_a_configfile_names_the_file_and_line(tmp_path):
    """Snakemake reads --configfile itself; the installed hook names file, line and remedy."""
    copy_test_config(tmp_path)
    broken = tmp_path / "broken.yaml"
    broken.write_text("studies:\n  collisions_mnist: {enabled: [true}\n")
    run = run_snakemake(tmp_path, broken, "--dry-run", env=runner_environment())
    assert run.returncode != 0
    output = run.stdout + run.stderr
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output[-2000:]  # one line, no traceback
    assert lines[0].startswith(f"Config error: {broken}: not valid YAML, line 2, column")


def test_failed_download_names_the_source_and_leaves_nothing(tmp_path):
    copy_test_config(tmp_path)
    empty_mirror = tmp_path / "empty-mirror"
    empty_mirror.mkdir()
    run = snakemake(
        tmp_path,
        "resources/mnist/mnist.h5",
        env={**runner_environment(), "MNIST_MIRROR": str(empty_mirror)},
    )
    assert run.returncode != 0
    log = (tmp_path / "logs/shared/download_mnist.log").read_text()
    assert str(empty_mirror) in log and "not found" in log
    assert not (tmp_path / "resources/mnist").exists() or not any(
        (tmp_path / "resources/mnist").iterdir()
    )
    assert os.path.isdir(tmp_path / "logs")


@pytest.mark.slow
def test_the_defences_study_scores_the_other_studies_inputs(tiny_run):
    summary = json.loads((tiny_run / "results/report/summary.json").read_text())
    defences = summary["defences"]
    scored = set(defences["detection"])
    assert {"clean", "noise_0.1", "fgsm_eps0.25", "collisions_micro", "collisions_macro"} <= scored
    assert {"interpolations_micro", "interpolations_macro"} <= scored
    for name, row in defences["detection"].items():
        assert name == "clean" or 0.0 <= row["auc"] <= 1.0
    assert {"evolved_lenet_direct", "evolved_lenet_cppn", "ascent_lenet_ascent"} <= scored
    # one row per attacked Szegedy model, named by the model (.test trains two)
    assert {"lbfgs_fc10_1e-4", "lbfgs_fc100-100-10"} <= scored and not defences["skipped"]
    assert defences["fgsm"]["rows"][-1]["epsilon"] == 0.25
    html = (tiny_run / "results/report/report.html").read_text()
    assert "href='#defences'" in html and "OK or LIAR" in html
    assert (tiny_run / "results/report/defences/figures/ROC_curves.png").is_file()


@pytest.mark.slow
def test_the_networks_further_seeds_give_the_figures_a_spread(tiny_run):
    from fooled.models.layout import MODELS
    from fooled.report.claims import evaluate
    from fooled.studies.defences.claims import CLAIMS
    from fooled.studies.defences.seeds import at_paper_epsilon

    summary = json.loads((tiny_run / "results/report/summary.json").read_text())
    # .test lists one further seed of each network: trained beside the one the studies attack
    for network in ("mlp", "lenet"):
        with h5py.File(tiny_run / MODELS.path("replicate_metrics", network=network, seed=1)) as h:
            assert h.attrs["seed"] == 1
    seeds = summary["defences"]["seeds"]
    assert [row["seed"] for row in seeds] == [0, 1]
    first, further = (at_paper_epsilon(row) for row in seeds)
    # the study's own figures are the first seed's; the further seed's MLP is another network
    assert first["fgsm_error"] == summary["defences"]["fgsm"]["rows"][-1]["error_rate"]
    assert first["autoencoder_clean_mean"] == summary["defences"]["autoencoder"]["clean"]["mean"]
    assert first["mlp_test_accuracy"] != further["mlp_test_accuracy"]
    for artifact in ("seed_fgsm", "seed_pgd", "seed_adversarial_metrics", "seed_errors"):
        assert (tiny_run / DF.path(artifact, seed=1)).is_file()
    with h5py.File(tiny_run / DF.path("seed_adversarial_metrics", seed=1)) as handle:
        assert json.loads(handle.attrs["config_json"])["adversarial_training"]["seed"] == 1
    # the claims are judged over both seeds, with their spread
    judged = {v.claim.key: v for v in evaluate({"defences": CLAIMS}, summary)}
    assert "n = 2 seeds" in judged["fgsm_fools"].ours
    assert "n = 2 seeds" in judged["autoencoder_clean_error"].ours
    lenet = summary["fooling"]["models"]["lenet"]["seeds"]
    assert [row["seed"] for row in lenet] == [0, 1]
    html = (tiny_run / "results/report/report.html").read_text()
    assert "Over the MLP&#x27;s seeds" in html or "Over the MLP's seeds" in html
    assert "lenet test accuracy over seeds 0, 1" in html


@pytest.mark.slow
def test_the_fooling_study_evolves_ascends_and_retrains(tiny_run):
    with h5py.File(tiny_run / FOOLING.path("evolve", experiment="lenet_direct", run=0)) as handle:
        assert handle["elites"].shape == (10, 28, 28)
        assert handle["confidence_history"].shape == (31, 10)
        assert handle["threshold_generation"].shape == (3, 10)
        elites = handle["elites"][()]
    assert elites.min() >= 0 and elites.max() <= 1
    with h5py.File(tiny_run / FOOLING.path("ascend", experiment="lenet_ascent")) as handle:
        assert handle["confidence_history"].shape[0] == 61
    summary = json.loads((tiny_run / "results/report/summary.json").read_text())["fooling"]
    assert set(summary["evolve"]) == {"lenet_direct", "lenet_cppn"}
    assert "lenet_retrain" in summary["retrain"]
    assert not list((tiny_run / "results/checkpoints").rglob("*.h5"))  # removed once done


@pytest.mark.slow
def test_the_szegedy_study_trains_attacks_and_bounds(tiny_run):
    attack = tiny_run / SZEGEDY.path("attack", name="fc100-100-10", seed=0)
    with h5py.File(attack) as handle:
        adversarial, images = handle["adversarial"][()], handle["images"][()]
        assert adversarial.shape == images.shape == (30, 28, 28)
        success = handle["success"][()]
    assert adversarial.min() >= 0 and adversarial.max() <= 1  # the box constraint
    assert success.mean() > 0.5
    summary = json.loads((tiny_run / "results/report/summary.json").read_text())["szegedy"]
    assert set(summary["table1"]) == {"FC10(1e-4)", "FC100-100-10"}
    diagonal = summary["transfer"]["table2"]["errors"]
    assert diagonal  # every model's examples against every model, noise rows below
    for name in ("fc10_1e-4", "fc100-100-10"):
        assert (tiny_run / SZEGEDY.path("model", name=name, seed=0)).is_file()
    assert (tiny_run / SZEGEDY.path("adversarial_metrics", seed=0)).is_file()
    assert (tiny_run / "results/report/szegedy/figures/adversarial_examples.png").is_file()


@pytest.mark.slow
def test_the_card_measures_the_user_s_model_beside_the_project_s(tiny_run):
    summary = json.loads((tiny_run / "results/report/summary.json").read_text())
    models = summary["card"]["models"]
    assert [m["model"] for m in models] == ["mlp", "lenet", "mine"]
    for m in models:
        assert [row["attack"] for row in m["detector"]["rows"]] == ["fgsm"] * 2 + ["pgd"] * 2
        assert 0.5 <= m["detector"]["rows"][-1]["auc"] <= 1.0
        assert len(m["collisions"]["pairs"]) == 1 and m["lbfgs"]["n"] == 3
        assert set(m["transfer"]["to"]) == set(m["transfer"]["from"]) == {
            "fc10_1e-4", "fc100-100-10"
        }  # fmt: skip
    html = (tiny_run / "results/report/report.html").read_text()
    assert "Robustness card" in html and "mine (yours)" in html
    # the defences section shows it under FGSM and PGD too, beside the project's MLP
    assert [m["model"] for m in summary["defences"]["own_models"]] == ["mine"]
    assert "mine (yours, from the robustness card)" in html


def test_a_bad_model_file_stops_the_workflow_with_one_line(tmp_path):
    copy_test_config(tmp_path)
    add_own_model(tmp_path, b"not a model")
    run = snakemake(tmp_path, "--dry-run")
    assert run.returncode != 0
    lines = [line for line in run.stderr.splitlines() if "Config error" in line]
    assert len(lines) == 1, run.stderr[-2000:]
    assert lines[0].startswith(
        f"Config error: config/config.yaml: studies.card.model.path: {OWN_MODEL}: "
        "not a Keras model file"
    )
    assert not (tmp_path / "results").exists()

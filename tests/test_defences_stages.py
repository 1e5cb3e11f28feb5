"""The study's six stage functions on tiny real inputs, with and without other studies' files."""

import dataclasses
import json
import logging
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
from defences_helpers import tiny_mlp, write_small_mnist
from report_checks import assert_no_tensorflow, summarise_and_render

from fooled.attacks.corners import CornerSettings, GradientCorners, corner_datasets
from fooled.core import h5io
from fooled.data.layout import MNIST
from fooled.models.handle import ModelHandle
from fooled.models.layout import MODELS
from fooled.report.layout import section_files
from fooled.report.sections import strict_json
from fooled.studies import registry
from fooled.studies.collisions.layout import MNIST_LAYOUT
from fooled.studies.defences import readme, report, stages
from fooled.studies.defences.layout import LAYOUT
from fooled.studies.szegedy.layout import LAYOUT as SZEGEDY

LOGGER = logging.getLogger("test_defences_stages")
CORNERS = {
    "n_corners": 2,
    "optimizer": "sgd",
    "learning_rate": 0.005,
    "w_pos": 4.0,
    "w_neg": 1.0,
    "threshold": 5.0,
    "max_steps": 60,
}
TINY = {
    "fgsm": {"n_images": 100, "batch_size": 100},
    "adversarial_training": {"epochs": 1, "max_train_samples": 600},
    "autoencoder": {"epochs": 1, "batch_size": 128, "n_holdout": 200},
    "score": {"n_clean": 300, "max_per_set": 150, "n_examples": 2},
    "adaptive": {
        "fgsm_weights": [0.0, 0.01],
        "collision_experiments": None,
        "n_interpolations": 40,
        "corner_weights": [10.0, 100.0],
    },
}


def _other_studies(root: Path, model_path: Path) -> None:
    """A collision experiment and an L-BFGS file of the layouts the other studies write."""
    model = ModelHandle(h5io_model(model_path), layer="fc1")
    test = h5io.read_arrays(MNIST.under(root).path("mnist"), ["test/images", "test/labels"])
    images = test["test/images"].astype(np.float32) / 255.0
    seed, target = images[1], images[0]  # a 2 and a 7
    collision = GradientCorners(CornerSettings.from_config(CORNERS)).run(
        model, seed.reshape(-1), target.reshape(-1)
    )
    collision.corners = collision.corners.reshape(-1, 28, 28)
    collisions = MNIST_LAYOUT.under(root)
    h5io.write_artifact(
        collisions.path("collide", experiment="tiny_2_to_7"),
        corner_datasets(seed, target, collision),
        h5io.provenance(CORNERS),
        {"experiment": "tiny_2_to_7", "mode": "micro", "layer": "fc1"} | CORNERS,
    )
    weights = np.random.default_rng(0).dirichlet(np.ones(2), 30).astype(np.float32)
    h5io.write_artifact(
        collisions.path("interpolate", experiment="tiny_2_to_7"),
        {"weights": weights},
        h5io.provenance({}),
        {},
    )
    shifted = np.clip(images[:6] + 0.05, 0, 1)  # stands in for L-BFGS output: the layout only
    h5io.write_artifact(
        SZEGEDY.under(root).path("attack", name="fc100-100-10", seed=0),
        {
            "adversarial": shifted,
            "images": images[:6],
            "labels": test["test/labels"][:6].astype(np.int64),
            "targets": (test["test/labels"][:6].astype(np.int64) + 1) % 10,
            "success": np.array([True, True, False, True, True, True]),
        },
        h5io.provenance({}),
        {"model": "fc100-100-10", "seed": 0},
    )


def h5io_model(path: Path):
    from fooled.models.runtime import load_model

    return load_model(path)


@pytest.fixture(scope="module")
def run_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("defences_run")
    write_small_mnist(Path(MNIST.under(root).path("mnist")), n_train=1200, n_test=300)
    models = MODELS.under(root)
    model_path = Path(models.path("model", network="mlp"))
    _save_mlp(tiny_mlp(), model_path, Path(models.path("metrics", network="mlp")), seed=0)
    # a further seed of the MLP (models.mlp.replicate_seeds): another network
    _save_mlp(
        tiny_mlp(n_train=2000),
        Path(models.path("replicate_model", network="mlp", seed=1)),
        Path(models.path("replicate_metrics", network="mlp", seed=1)),
        seed=1,
    )
    _other_studies(root, model_path)
    settings = stages.study_settings(TINY)
    reads = registry.find_inputs("defences", str(root))
    jobs = stages.plan_jobs(settings, reads, root, siblings=registry.siblings, mlp_seeds=[1])
    for name in jobs:
        if name != "report":
            getattr(stages, name.split("_seed")[0])(jobs[name], LOGGER)
    stages.report(jobs["report"], LOGGER)
    return root


def _save_mlp(model, path: Path, metrics: Path, seed: int) -> None:
    """An MLP and the metrics file its training rule writes beside it (seed, test accuracy)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    h5io.write_artifact(metrics, {}, {}, {"seed": seed, "test_accuracy": 0.9 + seed / 100})


def test_every_stage_writes_its_artifact(run_root: Path):
    files = LAYOUT.under(run_root)
    paths = {name: Path(files.path(name)) for name in files if not files[name].wildcards}
    assert all(path.is_file() for path in paths.values())
    fgsm = h5io.read_attrs(paths["fgsm"])
    adversarial = h5io.read_arrays(paths["fgsm"], ["adversarial", "epsilons"])["adversarial"]
    assert adversarial.shape == (2, 100, 28, 28) and adversarial.dtype == np.float32
    rows = fgsm["rows"]
    assert [row["epsilon"] for row in rows] == [0.1, 0.25]
    assert fgsm["config_json"]["n_images"] == 100  # provenance: the stage's settings
    # PGD on the same images: Madry et al.'s steps at FGSM's epsilons, at least as strong
    pgd = h5io.read_attrs(paths["pgd"])
    assert pgd["settings"]["steps"] == 40 and pgd["settings"]["epsilons"] == [0.1, 0.25]
    pgd_images = h5io.read_arrays(paths["pgd"], ["adversarial"])["adversarial"]
    assert pgd_images.shape == (2, 100, 28, 28)
    clean = h5io.read_arrays(paths["fgsm"], ["labels"])  # same images, same labels
    assert np.array_equal(clean["labels"], h5io.read_arrays(paths["pgd"], ["labels"])["labels"])
    for strong, weak in zip(pgd["rows"], rows, strict=True):
        assert strong["error_rate"] >= weak["error_rate"] - 0.02

    training = h5io.read_attrs(paths["adversarial_metrics"])
    lbfgs = training["lbfgs"]
    assert [row["n"] for row in lbfgs["before"]] == [5] and "error" in lbfgs["after"][0]
    assert training["n_train"] == 600 and training["lbfgs_skipped"] is None
    measured = h5io.read_arrays(
        paths["adversarial_metrics"], ["pgd_epsilons", "pgd_error_before", "pgd_error_after"]
    )
    assert measured["pgd_epsilons"].tolist() == [0.1, 0.25]
    # "before" is the same MLP and the same attack as the pgd stage's
    np.testing.assert_allclose(
        measured["pgd_error_before"], [row["error_rate"] for row in pgd["rows"]], atol=0.011
    )
    errors = h5io.read_attrs(paths["errors"])
    holdout = h5io.read_arrays(paths["errors"], ["holdout_errors"])["holdout_errors"]
    assert holdout.shape == (200,)
    assert np.mean(holdout > errors["threshold"]) <= 0.05  # the configured false-positive rate

    score = h5io.read_attrs(paths["score"])
    names = [row["name"] for row in score["sets"]]
    assert names == [
        "clean",
        "noise_0.1",
        "noise_0.3",
        "fgsm_eps0.1",
        "fgsm_eps0.25",
        "pgd_eps0.1",
        "pgd_eps0.25",
        "lbfgs_fc100-100-10",
        "collisions_micro",
        "interpolations_micro",
    ]
    assert set(score["skipped"]) == {"evolved", "ascent"}
    scores = h5io.read_arrays(paths["score"], ["sets/noise_0.3/scores", "clean_scores"])
    assert scores["sets/noise_0.3/scores"].mean() > scores["clean_scores"].mean()

    adaptive = h5io.read_attrs(paths["adaptive"])
    fgsm_rows = adaptive["fgsm_rows"]
    assert [(row["weight"], row["epsilon"]) for row in fgsm_rows] == [
        (0.0, 0.1), (0.0, 0.25), (0.01, 0.1), (0.01, 0.25)
    ]  # fmt: skip
    # weight 0 is plain FGSM: the same error as the fgsm stage's
    assert fgsm_rows[1]["error_rate"] == pytest.approx(rows[1]["error_rate"])
    pgd_rows = adaptive["pgd_rows"]
    assert [(row["weight"], row["epsilon"]) for row in pgd_rows] == [
        (0.0, 0.1), (0.0, 0.25), (0.01, 0.1), (0.01, 0.25)
    ]  # fmt: skip
    assert pgd_rows[1]["error_rate"] == pytest.approx(pgd["rows"][1]["error_rate"], abs=0.02)
    corner_rows = adaptive["corner_rows"]
    assert [(row["experiment"], row["weight"]) for row in corner_rows] == [
        ("tiny_2_to_7", 10.0), ("tiny_2_to_7", 100.0)
    ]  # fmt: skip
    # the heavier the reconstruction term, the lower the corners' reconstruction error
    assert corner_rows[1]["mean_score"] < corner_rows[0]["mean_score"]
    assert corner_rows[1]["mean_score"] < corner_rows[1]["plain_mean_score"]


def test_the_report_section(run_root: Path):
    section = section_files("defences")
    summary = json.loads((run_root / section["summary"]).read_text())
    html = (run_root / section["html"]).read_text()
    assert summary["study"] == "defences"
    assert set(summary["detection"]) >= {"clean", "fgsm_eps0.25", "collisions_micro"}
    assert summary["detection"]["fgsm_eps0.25"]["adaptive"]["weight"] in (0.0, 0.01)
    assert summary["detection"]["pgd_eps0.25"]["adaptive"]["weight"] in (0.0, 0.01)
    assert len(summary["adversarial_training"]["pgd_error_after"]) == 2
    assert "Projected gradient descent" in html and "PGD error, eps 0.25" in html
    assert summary["detection"]["collisions_micro"]["adaptive"]["n_experiments"] == 1
    assert summary["detection"]["noise_0.1"]["adaptive"] is None
    assert summary["paper"]["adversarial_training"]["fgsm_error_after"] == 0.179
    assert "LIAR" not in html or "<img" in html
    assert html.startswith("<h2>") and html.count("<table") >= 6
    assert "skipped evolved" in html and "fooling" in html


def test_a_further_seed_of_the_mlp_repeats_the_study_s_models(run_root: Path):
    from fooled.report.claims import evaluate
    from fooled.studies.defences.claims import CLAIMS
    from fooled.studies.defences.report import artifacts_of, summarise
    from fooled.studies.defences.seeds import at_paper_epsilon

    files = LAYOUT.under(run_root)
    for artifact in ("seed_fgsm", "seed_pgd", "seed_adversarial_metrics", "seed_errors"):
        assert Path(files.path(artifact, seed=1)).is_file()
    assert h5io.read_attrs(files.path("seed_fgsm", seed=1))["model"] == "mlp_seed1"
    provenance = h5io.read_attrs(files.path("seed_errors", seed=1))["config_json"]
    assert provenance["seed"] == 1  # the autoencoder is seeded with the MLP's further seed
    settings = stages.study_settings(TINY)
    jobs = stages.plan_jobs(settings, {}, run_root, mlp_seeds=[1])
    summary = summarise(artifacts_of(jobs["report"]))
    seeds = summary["seeds"]
    assert [row["seed"] for row in seeds] == [0, 1]
    assert [row["mlp_test_accuracy"] for row in seeds] == [0.9, 0.91]
    first, further = (at_paper_epsilon(row) for row in seeds)
    assert first["fgsm_error"] == summary["fgsm"]["rows"][-1]["error_rate"]
    assert first["clean_error_after"] == summary["adversarial_training"]["clean_error_after"]
    assert first["autoencoder_clean_mean"] != further["autoencoder_clean_mean"]
    judged = {v.claim.key: v for v in evaluate({"defences": CLAIMS}, {"defences": summary})}
    assert judged["autoencoder_clean_error"].ours.endswith("(mean +- sd, n = 2 seeds)")


def test_missing_inputs_are_skipped_not_errors(run_root: Path, tmp_path: Path):
    settings = stages.study_settings(TINY)
    jobs = stages.plan_jobs(settings, {}, run_root)
    for name, key in (("score", "score"), ("adaptive", "adaptive")):
        jobs[name].output[key] = str(tmp_path / f"{name}.h5")
        getattr(stages, name)(jobs[name], LOGGER)
    skipped = h5io.read_attrs(tmp_path / "score.h5")["skipped"]
    assert set(skipped) == {"lbfgs", "evolved", "ascent", "collisions", "interpolations"}
    adaptive = h5io.read_attrs(tmp_path / "adaptive.h5")
    assert "collisions_mnist" in adaptive["corner_skipped"]["*"]


def _report_artifacts(root: Path) -> report.Artifacts:
    """What the report stage of the fixture's run read (its further seed of the MLP too)."""
    jobs = stages.plan_jobs(stages.study_settings(TINY), {}, root, mlp_seeds=[1])
    return report.artifacts_of(jobs["report"])


def test_summarise_and_render(run_root: Path, tmp_path: Path):
    summary, section, figures = summarise_and_render(
        report, _report_artifacts(run_root), tmp_path / "figures"
    )
    # Settings travel as numbers: the epsilons as the fgsm stage made them, and the adaptive
    # row chosen for the FGSM set at 0.25 is one of the adaptive attack's rows at 0.25.
    assert [row["epsilon"] for row in summary["fgsm"]["rows"]] == [0.1, 0.25]
    assert summary["adversarial_training"]["epsilons"] == [0.1, 0.25]
    chosen = summary["detection"]["fgsm_eps0.25"]["adaptive"]
    at_025 = [row for row in summary["adaptive"]["fgsm"] if row["epsilon"] == 0.25]
    assert any(
        (row["weight"], row["evaded_and_fooled"]) == (chosen["weight"], chosen["evaded"])
        for row in at_025
    )
    assert summary["autoencoder"]["hidden_units"] == [32]
    # The stage wrote the same section and summary (the stage is summarise, then render).
    assert section.html == (run_root / section_files("defences")["html"]).read_text()
    written = json.loads((run_root / section_files("defences")["summary"]).read_text())
    assert written == json.loads(
        strict_json({"study": "defences", "title": report.TITLE, **summary})
    )
    assert {path.name for path in figures.written} == {
        "reconstructions.png",
        "ROC_curves.png",
        "score_distributions.png",
        "examples.png",
        "adaptive_collision_corners.png",
    }
    assert section.html.count("<img") == len(figures.written)


def test_the_report_runs_without_tensorflow(run_root: Path):
    assert_no_tensorflow(report, _report_artifacts(run_root))


def test_a_score_artifact_without_the_sets_settings_is_named(run_root: Path, tmp_path: Path):
    """A score artifact from before the sets recorded their settings: one line, the remedy."""
    old = tmp_path / "score.h5"
    shutil.copyfile(LAYOUT.under(run_root).path("score"), old)
    with h5py.File(old, "a") as handle:
        rows = json.loads(handle.attrs["sets"])
        handle.attrs["sets"] = json.dumps(
            [{k: v for k, v in r.items() if k != "settings"} for r in rows]
        )
    artifacts = dataclasses.replace(_report_artifacts(run_root), score=str(old))
    with pytest.raises(h5io.ArtifactError, match="forcerun defences_score") as error:
        report.summarise(artifacts)
    assert str(old) in str(error.value) and "epsilon" in str(error.value)


def test_the_readme_table_reads_the_paper_s_epsilon_from_any_list(run_root: Path):
    summary = report.summarise(_report_artifacts(run_root))
    text = readme.detection_table(summary)
    assert "under PGD (preset madry_mnist, 40 steps of 0.01 from a random start" in text
    assert "| PGD, eps 0.25 | 100 |" in text
    assert "FGSM at eps 0.25 on the MLP: " in text and "FGSM at eps 0.25 on the MLP: -" not in text
    # A run whose epsilons omit the paper's 0.25: a dash there, no error.
    other = json.loads(json.dumps(summary))
    for row, eps in zip(other["fgsm"]["rows"], (0.1, 0.3), strict=True):
        row["epsilon"] = eps
    other["adversarial_training"]["epsilons"] = [0.1, 0.3]
    text = readme.detection_table(other)
    assert "FGSM at eps 0.25 on the MLP: - error" in text
    assert "FGSM error at eps 0.25 - -> -, clean error" in text

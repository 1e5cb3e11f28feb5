"""The report stage on small but real artifacts built to docs/artifacts.md."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import h5py
import numpy as np
import pytest
from report_checks import assert_no_tensorflow, summarise_and_render

from fooled.core.h5io import ArtifactError, atomic_h5, provenance, set_attrs, write_datasets
from fooled.core.stage import Job, run_stage
from fooled.report import assemble
from fooled.report.html import Figures
from fooled.report.study import section_stage
from fooled.studies.collisions import imagenet_report, mnist_report, render
from fooled.studies.collisions import summary as report_summary

MNIST_SECTION = section_stage(mnist_report)

N_CORNERS = 5
N_UNITS = 16
N_INTERP = 2000
LOGGER = logging.getLogger("test_report")


def _write_metrics(path: Path) -> None:
    epochs = 3
    with atomic_h5(path) as handle:
        write_datasets(
            handle,
            {
                "history/loss": np.linspace(0.5, 0.1, epochs),
                "history/accuracy": np.linspace(0.9, 0.98, epochs),
                "history/val_loss": np.linspace(0.4, 0.12, epochs),
                "history/val_accuracy": np.linspace(0.91, 0.97, epochs),
                "test/predicted": np.zeros(10000, dtype=np.uint8),
                "test/top_probability": np.ones(10000, dtype=np.float32),
            },
        )
        set_attrs(handle, provenance({"model": "mnist_mlp"}, seeds={"train": 0}))
        set_attrs(
            handle,
            {
                "test_accuracy": 0.9712,
                "test_loss": 0.0975,
                "train_seconds": 12.5,
                "epochs": epochs,
                "seed": 0,
            },
        )


def _write_collide(
    path: Path,
    name: str,
    rng: np.random.Generator,
    converged: np.ndarray,
    seconds: float,
    w_pos: float,
    target_pred: int = 7,
) -> None:
    steps = 300
    n = converged.size
    threshold = 5.0
    decay = np.exp(-np.arange(steps) / 40.0)[:, None]
    loss_pos = (200.0 * decay + 1.0).repeat(n, axis=1)
    # A non-converged corner plateaus above the threshold.
    loss_pos[:, ~converged] = 50.0 * decay.repeat((~converged).sum(), axis=1) + 12.0
    loss_neg = -np.arange(steps)[:, None] * rng.uniform(0.5, 2.0, size=(1, n)) + 3.0
    converged_step = np.where(converged, 150, -1).astype(np.int64)
    probabilities = rng.dirichlet(np.ones(10), size=n).astype(np.float32)
    classes = np.full(n, target_pred, dtype=np.int64)
    probabilities[:, target_pred] += 5.0
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    if not converged.all():
        classes[~converged] = 3
        probabilities[~converged] = np.eye(10, dtype=np.float32)[3] * 0.6 + 0.04
    with atomic_h5(path) as handle:
        write_datasets(
            handle,
            {
                "seed_image": rng.uniform(0, 1, (28, 28)).astype(np.float32),
                "target_image": rng.uniform(0, 1, (28, 28)).astype(np.float32),
                "corners": rng.uniform(0, 1, (n, 28, 28)).astype(np.float32),
                "negative_units": np.arange(n, dtype=np.int64) + 2,
                "loss_pos": loss_pos.astype(np.float32),
                "loss_neg": loss_neg.astype(np.float32),
                "converged": converged,
                "converged_step": converged_step,
                "preact_target": rng.normal(size=N_UNITS).astype(np.float32),
                "preact_corners": rng.normal(size=(n, N_UNITS)).astype(np.float32),
                "flipped_units": rng.integers(0, 4, size=n).astype(np.int64),
                "corner_probabilities": probabilities,
                "corner_classes": classes,
            },
        )
        set_attrs(handle, provenance({"experiment": name}, seeds={"collide": 1}))
        set_attrs(
            handle,
            {
                "experiment": name,
                "seed_class": 3,
                "seed_index": 18,
                "target_class": 7,
                "target_index": 0,
                "target_predicted_class": target_pred,
                "target_probability": 0.999,
                "layer": "fc1",
                "steps_run": steps,
                "seconds": seconds,
                "trace_seconds": 0.4,
                "optimizer": "sgd",
                "learning_rate": 0.01,
                "w_pos": w_pos,
                "w_neg": 1.0,
                "threshold": threshold,
                "max_steps": steps,
                "n_corners": n,
            },
        )


def _write_interpolate(
    path: Path, name: str, rng: np.random.Generator, accuracy: float, dist: float
) -> None:
    weights = rng.dirichlet(np.ones(N_CORNERS), size=N_INTERP).astype(np.float32)
    hits = int(round(accuracy * N_INTERP))
    predicted = np.full(N_INTERP, 7, dtype=np.int64)
    predicted[hits:] = 3
    top = rng.uniform(0.6, 1.0, N_INTERP).astype(np.float32)
    with atomic_h5(path) as handle:
        write_datasets(
            handle,
            {
                "weights": weights,
                "predicted": predicted,
                "top_probability": top,
                "target_class_probability": np.where(predicted == 7, top, 0.1).astype(np.float32),
            },
        )
        set_attrs(handle, provenance({"experiment": name}, seeds={"interpolate": 2}))
        set_attrs(
            handle,
            {
                "experiment": name,
                "target_class": 7,
                "target_prob": 0.999,
                "interp_top_class_accuracy": hits / N_INTERP,
                "interp_prob_mean": float(top.mean()),
                "dist_corners_mean": dist,
                "dist_dataset_mean": 10.0,
                "n_dataset_images": 1000,
                "n_samples": N_INTERP,
                "seed": 2,
                "seconds": 0.75,
            },
        )


# name, converged corners, collide seconds, w_pos, interp. accuracy, corner distance
EXPERIMENTS = [
    ("paper_3_to_7", np.ones(N_CORNERS, bool), 30.0, 1000.0, 1.0, 1.5),
    ("pair_2_to_5_s1", np.ones(N_CORNERS, bool), 20.0, 1000.0, 0.95, 2.5),
    ("paper_literal_wpos1", np.array([1, 1, 0, 1, 1], bool), 40.0, 1.0, 0.5, 4.0),
]


@pytest.fixture()
def artifacts(tmp_path: Path) -> dict[str, object]:
    rng = np.random.default_rng(0)
    metrics = tmp_path / "model" / "metrics.h5"
    _write_metrics(metrics)
    collide, interpolate = {}, {}
    for name, converged, seconds, w_pos, accuracy, dist in EXPERIMENTS:
        collide[name] = tmp_path / "collide" / f"{name}.h5"
        interpolate[name] = tmp_path / "interpolate" / f"{name}.h5"
        _write_collide(collide[name], name, rng, converged, seconds, w_pos)
        _write_interpolate(interpolate[name], name, rng, accuracy, dist)
    return {"metrics": metrics, "collide": collide, "interpolate": interpolate}


def _mnist(arts: dict, paper_case: str = "paper_3_to_7") -> mnist_report.Artifacts:
    return mnist_report.Artifacts(
        metrics=str(arts["metrics"]),
        collide={name: str(path) for name, path in arts["collide"].items()},
        interpolate={name: str(path) for name, path in arts["interpolate"].items()},
        polytope={name: str(path) for name, path in arts.get("polytope", {}).items()},
        paper_case=paper_case,
    )


def _imagenet(arts: dict, index: list[str] | None = None) -> imagenet_report.Artifacts:
    return imagenet_report.Artifacts(
        collide={name: str(path) for name, path in arts["collide"].items()},
        interpolate={name: str(path) for name, path in arts["interpolate"].items()},
        index=index or [],
    )


def _summary(artifacts: dict) -> dict:
    records = [
        report_summary.collect_experiment(artifacts["collide"][n], artifacts["interpolate"][n])
        for n, *_ in EXPERIMENTS
    ]
    seconds = report_summary.stage_seconds(
        {"mnist_mlp": artifacts["metrics"]}, artifacts["collide"], artifacts["interpolate"]
    )
    return report_summary.build_summary({"mnist_mlp": str(artifacts["metrics"])}, records, seconds)


def test_collect_experiment_record(artifacts: dict) -> None:
    name = "paper_literal_wpos1"
    record = report_summary.collect_experiment(
        artifacts["collide"][name], artifacts["interpolate"][name]
    )
    assert record["name"] == name
    assert record["mode"] == "micro"
    assert record["corners_converged"] == 4 and record["n_corners"] == 5
    assert record["seed_class"] == 3 and record["target_class"] == 7
    assert record["seed_index"] == 18 and record["target_index"] == 0
    assert record["layer"] == "fc1" and record["optimizer"] == "sgd"
    assert record["w_pos"] == 1.0 and record["steps_run"] == 300
    assert record["corner_classes"] == [7, 7, 3, 7, 7]
    assert record["corners_classified_as_target"] == 4
    assert len(record["corner_probabilities"]) == 5
    assert record["corner_probabilities"][2] == pytest.approx(0.64)
    assert all(0.0 < p <= 1.0 for p in record["corner_probabilities"])
    assert record["final_loss_pos"][2] > record["threshold"]
    assert record["interp_top_class_accuracy"] == pytest.approx(0.5)
    assert record["dist_ratio"] == pytest.approx(0.4)
    assert record["seconds"] == 40.0
    assert isinstance(record["max_flipped_units"], int)


def test_summary_keys_and_aggregates(artifacts: dict) -> None:
    summary = _summary(artifacts)
    assert set(summary) == {"model", "experiments", "aggregate", "paper", "stage_seconds"}
    assert summary["paper"] == report_summary.PAPER_TABLE1
    assert summary["model"]["mnist_mlp"] == {
        "test_accuracy": pytest.approx(0.9712),
        "test_loss": pytest.approx(0.0975),
        "epochs": 3,
        "train_seconds": 12.5,
    }
    assert list(summary["experiments"]) == [n for n, *_ in EXPERIMENTS]
    for name, converged, seconds, _w, accuracy, dist in EXPERIMENTS:
        entry = summary["experiments"][name]
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
            assert key in entry
        assert entry["corners_converged"] == int(converged.sum())
        assert entry["seconds"] == seconds
        assert entry["interp_top_class_accuracy"] == pytest.approx(accuracy)
        assert entry["dist_corners_mean"] == pytest.approx(dist)
    agg = summary["aggregate"]
    dists = np.array([e[5] for e in EXPERIMENTS])
    assert agg["dist_corners_mean"]["mean"] == pytest.approx(dists.mean())
    assert agg["dist_corners_mean"]["std"] == pytest.approx(dists.std(ddof=1))
    assert agg["dist_corners_mean"]["max"] == pytest.approx(4.0)
    assert agg["interp_top_class_accuracy"]["mean"] == pytest.approx((1.0 + 0.95 + 0.5) / 3)
    assert agg["interp_top_class_accuracy"]["min"] == pytest.approx(0.5)
    assert agg["corners_converged"]["mean"] == pytest.approx(14 / 3)
    assert agg["corners_converged"]["min"] == 4
    assert agg["seconds"]["mean"] == pytest.approx(30.0)
    assert summary["stage_seconds"]["train_model/mnist_mlp"] == 12.5
    assert summary["stage_seconds"]["collide/paper_3_to_7"] == 30.0
    assert summary["stage_seconds"]["interpolate/pair_2_to_5_s1"] == 0.75
    json.loads(report_summary.summary_json(summary))  # strict JSON, no NaN


def test_single_experiment_std_is_null(artifacts: dict) -> None:
    name = "paper_3_to_7"
    record = report_summary.collect_experiment(
        artifacts["collide"][name], artifacts["interpolate"][name]
    )
    summary = report_summary.build_summary({"mnist_mlp": artifacts["metrics"]}, [record], None)
    assert summary["aggregate"]["dist_corners_mean"]["std"] is None
    assert "stage_seconds" not in summary
    json.loads(report_summary.summary_json(summary))


def _section_job(arts: dict, out: Path, names=None, polytope=()) -> Job:
    names = names or [n for n, *_ in EXPERIMENTS]
    return Job.make(
        input={
            "metrics": str(arts["metrics"]),
            "collide": [str(arts["collide"][n]) for n in names],
            "interpolate": [str(arts["interpolate"][n]) for n in names],
            "polytope": [str(arts["polytope"][n]) for n in polytope],
        },
        output={
            "html": str(out / "section.html"),
            "summary": str(out / "summary.json"),
            "figures": str(out / "figures"),
        },
        params={
            "collide_names": names,
            "interpolate_names": names,
            "polytope_names": list(polytope),
            "paper_case": "paper_3_to_7",
        },
        log=str(out.parent / f"{out.name}.log"),
    )


def test_page_is_self_contained_with_paper_row(artifacts: dict, tmp_path: Path) -> None:
    out = tmp_path / "collisions_mnist"
    job = _section_job(artifacts, out)
    run_stage("section", job.log, lambda logger: MNIST_SECTION(job, logger))
    config = {
        "report": {"title": "Reproduction report"},
        "datasets": {"mnist": {"mirrors": ["https://example.org/mnist/", "http://example.org/"]}},
        "note": "<script>alert(1)</script>",
    }
    page_job = Job.make(
        input={"html": [str(out / "section.html")], "summary": [str(out / "summary.json")]},
        output={"html": str(tmp_path / "report.html"), "summary": str(tmp_path / "summary.json")},
        params={"config": config},
    )
    assemble.assemble(page_job, LOGGER)
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    for number in ("10.21", "1.28", "100%", "1.0 / 1.0", "96.64%"):
        assert number in page
    # The paper's case sits in Table 1 beside the paper's row.
    table1 = page.split("<h3>Model</h3>")[0]
    assert "this reproduction: paper_3_to_7" in table1
    assert "97.12%" in table1
    for name, *_ in EXPERIMENTS:
        assert name in page
        assert f"id='exp-{name}'" in page
    assert "Experiments where not every corner converged" in page
    assert "paper_literal_wpos1</a>: 4/5 converged" in page
    # Self-contained: nothing is loaded from elsewhere. The config's mirror URLs
    # may appear as text in the provenance <pre>, never as a src or href.
    assert 'src="file' not in page
    assert not re.search(r"""src=["'](?!data:image/png;base64,)""", page)
    assert not re.search(r"""href=["'](?!#)""", page)
    assert "<link" not in page and "@import" not in page
    outside_pre = re.sub(r"<pre>.*?</pre>", "", page, flags=re.S)
    assert "http://" not in outside_pre and "https://" not in outside_pre
    assert "http://example.org/" in page  # the config is shown, escaped
    images = re.findall(r'<img src="data:image/png;base64,', page)
    assert len(images) == 1 + 2 * len(EXPERIMENTS)
    # The same figures are files for Snakemake's report (rule output, report()).
    assert len(list((out / "figures").glob("*.png"))) == len(images)
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "mean" in page and "std" in page and "worst case" in page
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["collisions_mnist"]["experiments"]["paper_3_to_7"]["mode"] == "micro"
    assert summary["collisions_mnist"]["stage_seconds"]["collide/paper_literal_wpos1"] == 40.0
    assert "library_versions" in summary["provenance"]
    log = Path(job.log).read_text()
    assert "wrote" in log and "paper_literal_wpos1: 4/5 corners converged" in log


def test_missing_paper_case_is_reported(artifacts: dict) -> None:
    summary = _summary(artifacts)
    page = mnist_report.render(summary, Figures(None, _mnist(artifacts, "absent_case"))).html
    assert "absent_case" in page and "is not among the experiments run" in page


def test_summarise_and_render_mnist(artifacts: dict, tmp_path: Path) -> None:
    """summarise reads every number render shows; render draws the figures from the artifacts."""
    summary, section, figures = summarise_and_render(
        mnist_report, _mnist(artifacts), tmp_path / "figures"
    )
    assert summary == json.loads(report_summary.summary_json(_summary(artifacts)))
    assert set(summary) == {"model", "experiments", "aggregate", "paper", "stage_seconds"}
    assert summary["experiments"]["paper_literal_wpos1"]["corners_converged"] == 4
    assert isinstance(summary["experiments"]["paper_3_to_7"]["w_pos"], float)
    page = section.html
    assert "this reproduction: paper_3_to_7" in page and "97.12%" in page
    assert "paper_literal_wpos1</a>: 4/5 converged" in page
    assert page.count("<img") == len(figures.written) == 1 + 2 * len(EXPERIMENTS)
    # Provenance of the section: the checksums of the inputs it was made from.
    assert "Input checksums (SHA-256)" in page and "collide/paper_3_to_7" in page


def test_collision_reports_run_without_tensorflow(artifacts: dict) -> None:
    assert_no_tensorflow(mnist_report, _mnist(artifacts))
    assert_no_tensorflow(imagenet_report, _imagenet(artifacts))


def test_index_evaluation_is_shown_when_present(artifacts: dict, tmp_path: Path) -> None:
    plain = imagenet_report.render(_summary(artifacts), Figures(None, _imagenet(artifacts))).html
    assert "ImageNet patch index" not in plain
    index = {
        "n_images": 950,
        "n_patches": 274550,
        "factory": "PCA64,HNSW32",
        "search_params": "efSearch=64",
        "rerank_k": 10,
        "recall_at_1": 0.976,
        "recall_at_1_no_rerank_top1": 0.5828,
        "qps": 3778.6,
        "qps_exact": 46.1,
        "build_seconds": 109.7,
        "peak_rss_mb": 1579.1,
        "on_gpu": False,
    }
    (tmp_path / "index.json").write_text(json.dumps(index))
    summary, section, _ = summarise_and_render(
        imagenet_report, _imagenet(artifacts, [str(tmp_path / "index.json")])
    )
    assert summary["index"] == index and "ingest" not in summary
    page = section.html
    section = page[page.index("ImageNet patch index") :]
    for shown in ("274,550", "PCA64,HNSW32 efSearch=64", "0.976", "3,779", "46.1", "82x", "CPU"):
        assert shown in section, shown
    assert "Skipped and converted files were not recorded" in page  # an older index summary


def test_the_ingest_s_skipped_and_converted_files_are_shown(artifacts: dict) -> None:
    summary = _summary(artifacts) | {"index": {}}  # the ingest is shown beside the index
    skipped = [
        {"file": f"n1/n1_{i}.JPEG", "reason": "empty", "detail": "0 bytes"} for i in range(24)
    ]
    summary["ingest"] = {
        "n_shards": 4,
        "n_files": 1025,
        "n_images": 1000,
        "n_skipped": 25,
        "skipped_reasons": {"empty": 24, "not an image": 1},
        "n_converted": 1,
        "converted_from": {"PNG": 1},
        "skipped": skipped + [{"file": "n2/n2_x.JPEG", "reason": "not an image", "detail": "d"}],
        "converted": [{"file": "n3/n3_<png>.JPEG", "from": "PNG"}],
    }
    page = render._ingest_section(summary)
    for shown in ("1,025", "1,000", "25 (24 empty, 1 not an image)", "1 (1 PNG)", "skipped: empty"):
        assert shown in page, shown
    assert page.count("<tr") == 2 + 1 + 20  # two headers, the totals, 20 of the 26 files
    assert "and 6 more" in page and "n3_&lt;png&gt;" not in page


def test_missing_dataset_names_file_and_dataset(artifacts: dict) -> None:
    path = artifacts["collide"]["pair_2_to_5_s1"]
    with h5py.File(path, "a") as handle:
        del handle["corner_classes"]
    with pytest.raises(ArtifactError) as error:
        report_summary.collect_experiment(path, artifacts["interpolate"]["pair_2_to_5_s1"])
    assert str(path) in str(error.value) and "corner_classes" in str(error.value)


def test_missing_attribute_and_mismatch(artifacts: dict) -> None:
    path = artifacts["interpolate"]["paper_3_to_7"]
    with pytest.raises(ArtifactError, match="does not match"):
        report_summary.collect_experiment(artifacts["collide"]["pair_2_to_5_s1"], path)
    with h5py.File(path, "a") as handle:
        del handle.attrs["dist_dataset_mean"]
    with pytest.raises(ArtifactError) as error:
        report_summary.collect_experiment(artifacts["collide"]["paper_3_to_7"], path)
    assert str(path) in str(error.value) and "dist_dataset_mean" in str(error.value)


def test_missing_file_is_artifact_error(tmp_path: Path, artifacts: dict) -> None:
    with pytest.raises(ArtifactError, match="missing input artifact"):
        report_summary.collect_experiment(
            tmp_path / "nope.h5", artifacts["interpolate"]["paper_3_to_7"]
        )


def test_section_stage_fails_in_one_line(artifacts: dict, tmp_path: Path, capsys) -> None:
    names = [n for n, *_ in EXPERIMENTS]
    job = _section_job(artifacts, tmp_path / "r", names)
    job.params["collide_names"] = list(reversed(names))  # paths no longer match their names
    with pytest.raises(SystemExit) as exit_info:
        run_stage("section", job.log, lambda logger: MNIST_SECTION(job, logger))
    assert exit_info.value.code == 1


# --------------------------------------------------------------------------
# The exact polytope (rule polytope): summary `exact` section, certified column
# --------------------------------------------------------------------------

POLYTOPE_EXPERIMENTS = ["paper_3_to_7", "paper_literal_wpos1"]


def _write_polytope(path: Path, name: str, rng: np.random.Generator, failed_lp: bool) -> None:
    """A polytope file per docs/artifacts.md; ``failed_lp`` makes the last LP infeasible."""
    n = N_CORNERS
    feasible = np.ones(n, bool)
    if failed_lp:
        feasible[-1] = False
    lp_corners = rng.uniform(0, 1, (n, 28, 28)).astype(np.float32)
    lp_corners[~feasible] = np.nan
    lp_eq = np.where(feasible, 3e-8, np.nan)
    lp_neg = np.where(feasible, 2e-8, np.nan)

    def certificate(eq: np.ndarray, neg: np.ndarray, certified: np.ndarray) -> dict:
        return {
            "max_equality_error": eq,
            "max_negative_preact": neg,
            "box_violation": np.zeros(n),
            "post_activation_error": np.nan_to_num(np.maximum(eq, neg)),
            "downstream_error": np.where(certified, 1e-6, 0.9),
            "predicted": np.full(n, 7, np.int64),
            "class_preserved": feasible.copy(),
            "exact": certified,
            "certified": certified,
        }

    arrays = {
        "lp_corners": lp_corners,
        "negative_units": np.arange(n, dtype=np.int64) + 2,
        "lp_status": np.where(feasible, 0, 2).astype(np.int64),
        "lp_message": np.array(
            [b"Optimal" if ok else b"The problem is infeasible." for ok in feasible]
        ),
        "lp_feasible": feasible,
        "lp_objective": np.where(feasible, -10.0, np.nan),
        "lp_seconds": np.full(n, 0.2),
        "dist_lp_to_seed": np.full(n, 16.0),
        "dist_lp_to_target": np.full(n, 13.0),
        "pixel_ranges/pixels": np.array([[14, 14], [0, 0]], np.int64),
        "pixel_ranges/low": np.array([0.0, 0.0]),
        "pixel_ranges/high": np.array([1.0, 0.75]),
        "pixel_ranges/status": np.zeros((2, 2), np.int64),
    }
    for key, value in certificate(lp_eq, lp_neg, feasible).items():
        arrays[f"lp_certificate/{key}"] = value
    for key, value in certificate(np.full(n, 0.7), np.full(n, 1.0), np.zeros(n, bool)).items():
        arrays[f"gradient_certificate/{key}"] = value
    arrays["gradient_certificate/class_preserved"] = np.ones(n, bool)
    with atomic_h5(path) as handle:
        write_datasets(handle, arrays)
        set_attrs(handle, provenance({"polytope": {"mode": "vertex"}}, seeds={"interpolate": 0}))
        set_attrs(
            handle,
            {
                "experiment": name,
                "layer": "fc1",
                "mode": "vertex",
                "tolerance": 1e-4,
                "n_lp": n,
                "lp_corners_feasible": int(feasible.sum()),
                "lp_certified": int(feasible.sum()),
                "gradient_certified": 0,
                "rank_pos": 88,
                "n_positive_units": 88,
                "equality_dim": 696,
                "dist_lp_corners_mean": 13.07,
                "dist_gradient_corners_mean": 0.69,
                "dist_dataset_mean": 10.16,
                "interp_top_class_accuracy": 1.0,
                "interp_certified_fraction": 1.0,
                "seconds_per_lp": 0.2,
                "seconds": 3.5,
            },
        )


@pytest.fixture()
def with_polytope(artifacts: dict, tmp_path: Path) -> dict:
    rng = np.random.default_rng(5)
    polytope = {}
    for name in POLYTOPE_EXPERIMENTS:
        polytope[name] = tmp_path / "polytope" / f"{name}.h5"
        _write_polytope(polytope[name], name, rng, failed_lp=name == "paper_literal_wpos1")
    return {**artifacts, "polytope": polytope}


def _summary_with_polytope(arts: dict) -> dict:
    records = [
        report_summary.collect_experiment(
            arts["collide"][n], arts["interpolate"][n], arts["polytope"].get(n)
        )
        for n, *_ in EXPERIMENTS
    ]
    seconds = report_summary.stage_seconds(
        {"mnist_mlp": arts["metrics"]}, arts["collide"], arts["interpolate"], arts["polytope"]
    )
    return report_summary.build_summary({"mnist_mlp": str(arts["metrics"])}, records, seconds)


def test_exact_section(with_polytope: dict) -> None:
    summary = json.loads(report_summary.summary_json(_summary_with_polytope(with_polytope)))
    exact = summary["experiments"]["paper_3_to_7"]["exact"]
    for key in (
        "lp_corners",
        "max_equality_error",
        "max_negative_unit_preactivation",
        "class_preserved",
        "rank_pos",
        "dist_lp_corners_mean",
        "seconds_per_lp",
    ):
        assert key in exact
    assert exact["lp_corners"] == 5 and exact["lp_certified"] == 5
    assert exact["max_equality_error"] == pytest.approx(3e-8)
    assert exact["max_negative_unit_preactivation"] == pytest.approx(2e-8)
    assert exact["class_preserved"] is True
    assert exact["rank_pos"] == 88 and exact["equality_dim"] == 696
    assert exact["dist_lp_corners_mean"] == pytest.approx(13.07)
    assert exact["seconds_per_lp"] == pytest.approx(0.2)
    assert exact["gradient"] == {
        "certified": 0,
        "n_corners": 5,
        "max_equality_error": pytest.approx(0.7),
        "max_negative_unit_preactivation": pytest.approx(1.0),
        "class_preserved": True,
    }
    assert exact["pixel_ranges"][1] == {"pixel": [0, 0], "min": 0.0, "max": 0.75}
    # A failed LP corner is counted out, never turned into a NaN in the JSON.
    failed = summary["experiments"]["paper_literal_wpos1"]["exact"]
    assert failed["lp_corners"] == 4 and failed["n_lp"] == 5
    assert failed["lp_status"] == [0, 0, 0, 0, 2]
    assert failed["class_preserved"] is True  # over the feasible corners
    assert failed["max_equality_error"] == pytest.approx(3e-8)
    # Experiments without an LP (not fc1) say so with null.
    assert summary["experiments"]["pair_2_to_5_s1"]["exact"] is None
    assert summary["stage_seconds"]["polytope/paper_3_to_7"] == 3.5


def test_html_certified_column_and_polytope_section(with_polytope: dict) -> None:
    summary = _summary_with_polytope(with_polytope)
    page = mnist_report.render(summary, Figures(None, _mnist(with_polytope))).html
    assert "certified: gradient / LP" in page
    assert "0/5 / 5/5" in page and "0/5 / 4/5" in page
    assert "Exact collision polytope (first layer, linear programming)" in page
    assert "88 / 88" in page and "3.00e-08" in page and "7.00e-01" in page
    assert "(0,0): 0.00–0.75" in page
    images = re.findall(r'<img src="data:image/png;base64,', page)
    assert len(images) == 1 + 2 * len(EXPERIMENTS) + len(POLYTOPE_EXPERIMENTS)
    # Without polytope files the section says the LP was not computed.
    without = _mnist({**with_polytope, "polytope": {}})
    plain = mnist_report.render(_summary(with_polytope), Figures(None, without)).html
    assert "the exact polytope was not computed" in plain


def test_polytope_of_another_experiment_is_refused(with_polytope: dict) -> None:
    with pytest.raises(ArtifactError, match="does not match"):
        report_summary.collect_experiment(
            with_polytope["collide"]["paper_3_to_7"],
            with_polytope["interpolate"]["paper_3_to_7"],
            with_polytope["polytope"]["paper_literal_wpos1"],
        )


def test_section_stage_with_polytope(with_polytope: dict, tmp_path: Path) -> None:
    out = tmp_path / "report_lp"
    job = _section_job(with_polytope, out, polytope=POLYTOPE_EXPERIMENTS)
    run_stage("section", job.log, lambda logger: MNIST_SECTION(job, logger))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["study"] == "collisions_mnist"
    assert summary["experiments"]["paper_3_to_7"]["exact"]["lp_corners"] == 5
    assert summary["experiments"]["pair_2_to_5_s1"]["exact"] is None
    assert "polytope/paper_3_to_7" in summary["stage_seconds"]
    assert (out / "figures" / "paper_3_to_7_lp_corners.png").is_file()

"""The robustness card on small real inputs: a user's model file (input 28x28x1, pixels in
[0, 255], logits out) measured beside the project's MLP with every attack, its bad files
refused with one line, the report's table."""

import json
import logging
from pathlib import Path

import h5py
import keras
import numpy as np
import pytest
from defences_helpers import tiny_mlp, write_small_mnist
from report_checks import assert_no_tensorflow, summarise_and_render

from fooled.core import h5io
from fooled.core.config import schema_defaults
from fooled.data.layout import MNIST
from fooled.models import detector
from fooled.models.handle import ModelHandle
from fooled.models.layout import MODELS
from fooled.models.own import OwnModelError, check_own_model, own_handle
from fooled.report.layout import section_files
from fooled.studies import registry
from fooled.studies.card import report, stages
from fooled.studies.card.layout import LAYOUT
from fooled.studies.szegedy.layout import LAYOUT as SZEGEDY

LOGGER = logging.getLogger("test_card")
TINY_CARD = {
    "enabled": True,
    "model": {"path": None, "name": "mine", "pixel_max": 255, "layer": "hidden"},
    "compare_with": ["mlp"],
    "n_clean": 300,
    "n_attacked": 60,
    "n_lbfgs": 3,
    "generations": 4,
    "n_collisions": 1,
    "n_interpolations": 40,
}


def own_model(path: Path) -> Path:
    """A small convolutional model of the user's kind: 28x28x1 input in [0, 255], logits."""
    keras.utils.set_random_seed(1)
    inputs = keras.Input((28, 28, 1))
    hidden = keras.layers.Rescaling(1 / 255.0)(inputs)
    hidden = keras.layers.Conv2D(4, 5, strides=2, activation="relu")(hidden)
    hidden = keras.layers.Flatten()(hidden)
    hidden = keras.layers.Dense(32, activation="relu", name="hidden")(hidden)
    model = keras.Model(inputs, keras.layers.Dense(10)(hidden))
    model.save(path)
    return path


def _studies() -> dict:
    """Every study's defaults, the attacks made small (the card takes their settings)."""
    studies = {
        name: schema_defaults(f"studies/{name}.schema.yaml")
        for name in ("defences", "szegedy", "fooling", "collisions_mnist")
    }
    studies["defences"]["fgsm"] |= {"batch_size": 60}
    studies["defences"]["pgd"] |= {"steps": 10, "step_size": 0.03}
    studies["szegedy"]["attack"] |= {"search_steps": 2, "max_iterations": 20}
    studies["fooling"]["defaults"]["evolve"] |= {"population_size": 20}
    studies["fooling"]["defaults"]["ascend"] |= {"steps": 30}
    studies["collisions_mnist"]["defaults"]["micro"] |= {"n_corners": 2, "max_steps": 60}
    return studies


def _szegedy_network(root: Path) -> None:
    """One of the szegedy study's networks and its L-BFGS file, where its layout puts them
    (a tiny MLP, and shifted test digits standing in for its examples: the layout only)."""
    files = SZEGEDY.under(root)
    model_path = Path(files.path("model", name="fc100-100-10", seed=0))
    model_path.parent.mkdir(parents=True)
    tiny_mlp().save(model_path)
    test = h5io.read_arrays(MNIST.under(root).path("mnist"), ["test/images", "test/labels"])
    images = test["test/images"][:6].astype(np.float32) / 255.0
    h5io.write_artifact(
        files.path("attack", name="fc100-100-10", seed=0),
        {
            "adversarial": np.clip(images + 0.05, 0, 1),
            "labels": test["test/labels"][:6].astype(np.int64),
            "success": np.array([True, True, False, True, True, True]),
        },
        h5io.provenance({}),
        {"model": "fc100-100-10", "seed": 0},
    )


@pytest.fixture(scope="module")
def run_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("card_run")
    write_small_mnist(Path(MNIST.under(root).path("mnist")), n_train=100, n_test=300)
    mlp_path = Path(MODELS.under(root).path("model", network="mlp"))
    mlp_path.parent.mkdir(parents=True)
    tiny_mlp().save(mlp_path)
    _szegedy_network(root)
    section = stages.study_settings(
        TINY_CARD | {"model": TINY_CARD["model"] | {"path": str(own_model(root / "mine.keras"))}}
    )
    reads = registry.find_inputs("card", str(root))
    assert [len(reads[name]) for name in ("szegedy_models", "szegedy_attacks")] == [1, 1]
    jobs = stages.plan_jobs(section, _studies(), reads, root)
    assert list(jobs) == ["measure/mlp", "measure/mine", "report"]
    for name, job in jobs.items():
        (stages.report if name == "report" else stages.measure_model)(job, LOGGER)
    return root


def test_every_model_is_measured(run_root: Path):
    files = LAYOUT.under(run_root)
    mine = h5io.read_attrs(files.path("measures", model="mine"))["figures"]
    mlp = h5io.read_attrs(files.path("measures", model="mlp"))["figures"]
    assert mine["own"] and not mlp["own"] and mine["model"] == "mine"
    for figures in (mine, mlp):
        assert 0.0 <= figures["clean_accuracy"] <= 1.0
        assert [row["epsilon"] for row in figures["pgd"]] == [0.1, 0.25]
        for weak, strong in zip(figures["fgsm"], figures["pgd"], strict=True):
            assert strong["error_rate"] >= weak["error_rate"] - 0.05
        assert figures["lbfgs"]["n"] == 3
        assert set(figures["evolution"]) == {"direct", "cppn"}
        assert len(figures["evolution"]["cppn"]["generation"]) == 10
        assert all(-1 <= g <= 4 for g in figures["evolution"]["direct"]["generation"])
        assert len(figures["ascent"]["step"]) == 10
        pair = figures["collisions"]["pairs"][0]
        assert 0.0 <= pair["interpolation_accuracy"] <= 1.0
        assert figures["detector"]["skipped"].startswith("no autoencoder")
        transfer = figures["transfer"]
        assert transfer["to"]["fc100-100-10"]["n"] == 5  # the successful examples
        assert 0.0 <= transfer["to"]["fc100-100-10"]["error"] <= 1.0
        assert transfer["n_own_examples"] == round(3 * figures["lbfgs"]["success_rate"])
        assert 0.0 <= transfer["from"]["fc100-100-10"] <= 1.0
    # the MLP's examples, carried to the same tiny MLP standing in for Szegedy's network: it
    # errs on every one of them (each moved it to another class)
    assert mlp["transfer"]["from"]["fc100-100-10"] == 1.0
    assert mine["collisions"]["layer"] == "hidden" and mlp["collisions"]["layer"] == "fc1"
    # the exact LP polytope: at the MLP's first dense layer, not at a scaled model's layer
    pair = mlp["collisions"]["pairs"][0]
    assert pair["lp_tried"] == 2 and 0 <= pair["lp_certified"] <= pair["lp_corners"] <= 2
    assert mlp["collisions"]["exact_skipped"] == ""
    assert mine["collisions"]["exact_skipped"].startswith("the model scales its input")


def test_the_user_s_pixel_range_is_scaled_inside_the_handle(run_root: Path):
    """Pixels in [0, 1] reach a [0, 255] model as [0, 255]: the handle's probabilities equal
    the model's own on the scaled images."""
    images = h5io.read_arrays(MNIST.under(run_root).path("mnist"), ["test/images"])
    images = images["test/images"][:20].astype(np.float32)
    handle = own_handle(run_root / "mine.keras", 255, "hidden")
    direct = keras.models.load_model(run_root / "mine.keras")(images[..., None]).numpy()
    np.testing.assert_allclose(handle.logits_numpy(images / 255.0), direct, rtol=1e-5, atol=1e-5)
    assert handle.n_units == 32


def test_the_card_s_roc_auc_is_the_pairwise_share_and_scipy_s_mann_whitney():
    """The card scores detection with the shared detector's ROC-AUC (fooled.models.detector),
    checked here against the pairs and against SciPy's Mann-Whitney U."""
    from scipy.stats import mannwhitneyu

    negatives, positives = np.array([0.1, 0.2, 0.3]), np.array([0.25, 0.3, 0.5])
    pairs = [(p > n) + 0.5 * (p == n) for p in positives for n in negatives]
    assert detector.roc_auc(negatives, positives) == pytest.approx(np.mean(pairs))
    statistic = mannwhitneyu(positives, negatives, alternative="two-sided").statistic
    assert detector.roc_auc(negatives, positives) == pytest.approx(statistic / 9)


def test_the_report_puts_the_user_s_model_beside_the_project_s(run_root: Path, tmp_path: Path):
    section = section_files("card")
    summary = json.loads((run_root / section["summary"]).read_text())
    assert [m["model"] for m in summary["models"]] == ["mlp", "mine"]
    html = (run_root / section["html"]).read_text()
    assert "mine (yours)" in html and "PGD error, eps 0.25" in html
    assert "MAP-Elites, CPPN encoding" in html and "collisions: interpolations" in html
    assert "transfer: its error on Szegedy&#x27;s networks&#x27; L-BFGS examples" in html
    artifacts = report.Artifacts(
        tuple(LAYOUT.under(run_root).path("measures", model=m) for m in ("mlp", "mine"))
    )
    again, rendered, _ = summarise_and_render(report, artifacts, tmp_path / "figures")
    assert again["models"][1]["model"] == "mine" and rendered.html == html
    assert_no_tensorflow(report, artifacts)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda folder: folder / "absent.keras", "model file not found"),
        (lambda folder: _write(folder / "junk.keras", b"not a model"), "not a Keras model file"),
        (lambda folder: _model(folder / "wide.keras", (32, 32, 1), 10), "does not hold one 28x28"),
        (lambda folder: _model(folder / "five.keras", (784,), 5), "is not 10 classes"),
    ],
)
def test_a_bad_model_file_is_one_line(tmp_path: Path, make, message: str):
    path = make(tmp_path)
    with pytest.raises(OwnModelError, match=message) as caught:
        check_own_model(path)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)
    assert caught.value.setting == "path"  # the config key a start-up check names


def test_a_layer_the_model_lacks_is_one_line(tmp_path: Path):
    path = own_model(tmp_path / "mine.keras")
    with pytest.raises(OwnModelError, match="layer 'fc9' not in model") as caught:
        check_own_model(path, "fc9")
    assert "\n" not in str(caught.value) and caught.value.setting == "layer"
    assert isinstance(own_handle(path, 255, None), ModelHandle)


def _write(path: Path, payload: bytes) -> Path:
    path.write_bytes(payload)
    return path


def _model(path: Path, shape: tuple[int, ...], classes: int) -> Path:
    inputs = keras.Input(shape)
    keras.Model(inputs, keras.layers.Dense(classes)(keras.layers.Flatten()(inputs))).save(path)
    return path


def test_h5_model_files_load_too(tmp_path: Path):
    path = tmp_path / "legacy.h5"
    keras.Sequential([keras.Input((784,)), keras.layers.Dense(10)]).save(path)
    assert h5py.is_hdf5(path)
    assert check_own_model(path).outputs[0].shape[-1] == 10


def test_the_defences_report_shows_the_user_s_model_from_the_card(run_root: Path):
    from fooled.studies.defences.report import own_models

    files = LAYOUT.under(run_root)
    found = own_models([files.path("measures", model=m) for m in ("mlp", "mine")])
    assert [model["model"] for model in found] == ["mine"]  # the project's MLP is its own row
    assert [row["epsilon"] for row in found[0]["pgd"]] == [0.1, 0.25]
    assert own_models([]) == []

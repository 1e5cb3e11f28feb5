"""The Szegedy stages chained on a tiny configuration: artifacts, the report, one-line errors."""

import json
import logging
from pathlib import Path

import h5py
import keras
import numpy as np
import pytest
from report_checks import assert_no_tensorflow, summarise_and_render
from szegedy_data import mnist_folder, mnist_h5

from fooled.core.stage import Job
from fooled.models import vgg16
from fooled.studies.szegedy import report, stages
from fooled.studies.szegedy.settings import load_section, model_instances

MODELS = """
- name: fc10_a
  architecture: fc10
  weight_decay: 1.0e-4
  paper_row: FC10(1e-4)
- name: fc20
  architecture: fc20-10
  weight_decay: [1.0e-5, 1.0e-6]
  paper_row: FC100-100-10
- name: p1_a
  architecture: fc10
  weight_decay: 1.0e-4
  training_set: P1
  table: cross_training
- name: p1_b
  architecture: fc10
  weight_decay: 1.0e-2
  training_set: P1
  table: cross_training
- name: p2_a
  architecture: fc10
  weight_decay: 1.0e-4
  training_set: P2
  table: cross_training
"""

TINY = {
    "defaults": {"max_train_samples": 400, "epochs": 1},
    "attack": {"n_images": 6, "search_steps": 3, "max_iterations": 40},
    "adversarial_training": {
        "base": "fc20",
        "examples_per_refresh": 10,
        "pool_size": 20,
        "n_eval_images": 4,
    },
    "units": {"n_images": 600, "n_permutations": 200, "n_units": 20, "n_directions": 20},
    "bounds": {"vgg16": {"input_size": 32}},
}


def _small_vgg(architecture, weights, *, weights_path=None, input_size, seed):
    """A two-convolution stand-in for VGG-16 (the bounds code path, in a fraction of a second)."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=(input_size, input_size, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="block1_conv1")(inputs)
    x = keras.layers.MaxPooling2D(2, name="block1_pool")(x)
    x = keras.layers.Flatten()(x)
    return keras.Model(inputs, keras.layers.Dense(10, activation="softmax", name="predictions")(x))


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    root = tmp_path_factory.mktemp("szegedy")
    (root / "models.yaml").write_text(MODELS)
    section, experiments = load_section(
        {**TINY, "experiment_lists": [str(root / "models.yaml")]}, [root]
    )
    instances = model_instances(experiments)
    params = [instance.params() for instance in instances]
    mnist = mnist_h5(str(mnist_folder()))
    paths = {
        "models": [str(root / "models" / i.key / "model.keras") for i in instances],
        "metrics": [str(root / "models" / i.key / "metrics.h5") for i in instances],
        "attacks": [str(root / "attack" / i.key / "attack.h5") for i in instances],
        "train_attacks": [str(root / "attack" / i.key / "attack_train.h5") for i in instances],
    }
    logger = logging.getLogger("test")
    stages.train_models(
        Job.make(
            input={"mnist": mnist},
            output={"models": paths["models"], "metrics": paths["metrics"]},
            params={"models": params, "split_seed": section["split_seed"]},
        ),
        logger,
    )
    stages.attack_lbfgs(
        Job.make(
            input={"mnist": mnist, "models": paths["models"]},
            output={"attacks": paths["attacks"]},
            params={"models": params, "attack": section["attack"]},
        ),
        logger,
    )
    stages.attack_lbfgs_train(
        Job.make(
            input={"mnist": mnist, "models": paths["models"]},
            output={"attacks": paths["train_attacks"]},
            params={
                "models": params,
                "split_seed": section["split_seed"],
                "attack": section["attack"],
                "train_attack": {"n_images": 4},
            },
        ),
        logger,
    )
    stages.transfer(
        Job.make(
            input={"mnist": mnist, "models": paths["models"], "attacks": paths["attacks"]},
            output={"transfer": str(root / "transfer.h5")},
            params={"models": params, "transfer": section["transfer"], "attack": section["attack"]},
        ),
        logger,
    )
    base = [k for k, i in enumerate(instances) if i.name == "fc20"][0]
    stages.adversarial_training(
        Job.make(
            input={
                "mnist": mnist,
                "base_model": paths["models"][base],
                "base_attack": paths["attacks"][base],
            },
            output={
                "model": str(root / "adversarial" / "model.keras"),
                "metrics": str(root / "adversarial" / "metrics.h5"),
            },
            params={
                "base": params[base],
                "adversarial_training": section["adversarial_training"],
                "attack": section["attack"],
                "split_seed": section["split_seed"],
            },
        ),
        logger,
    )
    stages.units(
        Job.make(
            input={"mnist": mnist, "models": paths["models"][base]},
            output={"units": str(root / "units.h5")},
            params={"models": params[base], "units": section["units"]},
        ),
        logger,
    )
    original = vgg16.build_model
    vgg16.build_model = _small_vgg
    try:
        stages.bounds(
            Job.make(
                input={"models": paths["models"], "attacks": paths["attacks"]},
                output={"bounds": str(root / "bounds.h5")},
                params={"models": params, "bounds": section["bounds"]},
            ),
            logger,
        )
    finally:
        vgg16.build_model = original
    stages.report(
        Job.make(
            input={
                "metrics": paths["metrics"],
                "attacks": paths["attacks"],
                "train_attacks": paths["train_attacks"],
                "transfer": str(root / "transfer.h5"),
                "adversarial": [str(root / "adversarial" / "metrics.h5")],
                "units": str(root / "units.h5"),
                "bounds": str(root / "bounds.h5"),
            },
            output={"html": str(root / "section.html"), "summary": str(root / "summary.json")},
            params={"models": params},
        ),
        logger,
    )
    return root, section, instances, params, paths, mnist


def test_attack_artifact_layout(chain):
    _, _, instances, _, paths, _ = chain
    with h5py.File(paths["attacks"][0]) as handle:
        assert handle["images"].shape == handle["adversarial"].shape == (6, 28, 28)
        assert handle["adversarial"].dtype == np.float32
        for name in ("labels", "targets", "success", "distortion", "c", "iterations", "test_index"):
            assert handle[name].shape == (6,)
        assert handle.attrs["model"] == instances[0].name and handle.attrs["seed"] == 0
        assert "config_digest" in handle.attrs
        adversarial = handle["adversarial"][()]
        assert adversarial.min() >= 0.0 and adversarial.max() <= 1.0
        assert (handle["targets"][()] != handle["labels"][()]).all()


def test_the_training_set_attack_takes_each_model_s_own_training_images(chain):
    from fooled.models.mnist_zoo import training_indices

    root, section, instances, _, paths, mnist = chain
    with h5py.File(mnist) as handle:
        train_labels = handle["train/labels"][()]
        n_train = len(train_labels)
    for instance, path in zip(instances, paths["train_attacks"], strict=True):
        own = training_indices(
            instance.settings["training_set"],
            n_train,
            section["split_seed"],
            instance.settings["max_train_samples"],
        )
        with h5py.File(path) as handle:
            index = handle["train_index"][()]
            assert len(index) == 4 and "test_index" not in handle
            assert np.isin(index, own).all()  # P1's models are attacked on P1 only
            assert (handle["labels"][()] == train_labels[index]).all()
            assert (handle["targets"][()] != handle["labels"][()]).all()
            assert handle.attrs["images_from"] == "training set"
    summary = json.loads((root / "summary.json").read_text())
    row = summary["table1"]["FC10(1e-4)"]
    assert row["n_train_images"] == 4 and row["n_images"] == 6
    assert 0.0 < row["train_distortion"]["mean"] < 1.0
    html = (root / "section.html").read_text()
    assert "mean min. distortion, training images" in html


def test_transfer_units_bounds_and_adversarial_artifacts(chain):
    root, *_ = chain
    with h5py.File(root / "transfer.h5") as handle:
        # Rows: 2 models + 2 noise levels; Table 4: 3 models + 2 noise + 3 magnified.
        assert handle["table2/errors"].shape == (1, 4, 2)
        assert handle["table4/errors"].shape == (1, 8, 3)
        assert json.loads(handle.attrs["table2_columns"]) == ["FC10(1e-4)", "FC100-100-10"]
    with h5py.File(root / "units.h5") as handle:
        assert handle["fc20/seed0/fc1/purity_units"].shape == (20,)
    with h5py.File(root / "bounds.h5") as handle:
        records = json.loads(handle.attrs["models"])
        assert all(r["max_ratio"] <= r["network_bound"] * (1 + 1e-5) for r in records)
        assert json.loads(handle.attrs["vgg16"])["comparable"] is False
    with h5py.File(root / "adversarial" / "metrics.h5") as handle:
        assert 0.0 <= handle.attrs["error_on_base_examples"] <= 1.0
        assert handle["refresh/pool_size"][-1] <= 20


def test_report_section_and_summary(chain):
    root, *_ = chain
    summary = json.loads((root / "summary.json").read_text())
    assert summary["study"] == "szegedy"
    assert set(summary) >= {"table1", "transfer", "table3", "table5", "units", "paper"}
    assert set(summary["table1"]) == {"FC10(1e-4)", "FC100-100-10"}
    html = (root / "section.html").read_text()
    assert html.startswith("<h2>") and "Table 4" in html and "data:image/png;base64" in html
    assert "not comparable" in html


def _datasets(path: str) -> dict[str, np.ndarray]:
    with h5py.File(path) as handle:
        found = {}
        handle.visititems(
            lambda name, node: (
                found.update({name: node[()]}) if isinstance(node, h5py.Dataset) else None
            )
        )
        return found


def test_a_batch_job_gives_each_model_the_bits_of_its_own_job(chain, tmp_path):
    """Rule szegedy_model_batch on the last two models, in the opposite order, then rule
    szegedy_model's copy of each: the same model weights, metrics and attacks as the chain's
    (every model trained and attacked in list order); a damaged file is not copied."""
    from fooled.core import h5io
    from fooled.studies.szegedy.layout import LAYOUT, PER_INSTANCE

    _, section, instances, params, paths, mnist = chain
    chosen = [len(params) - 1, len(params) - 2]
    batch = str(tmp_path / "batch")
    stages.train_and_attack(
        Job.make(
            input={"mnist": mnist},
            output={"batch": batch},
            params={
                "models": [params[k] for k in chosen],
                "split_seed": section["split_seed"],
                "attack": section["attack"],
            },
        ),
        logging.getLogger("test"),
    )
    placed = LAYOUT.under(tmp_path / "placed")
    for k in chosen:
        wildcards = {"name": instances[k].name, "seed": str(instances[k].seed)}
        outputs = {artifact: placed.path(artifact, **wildcards) for artifact in PER_INSTANCE}
        stages.place_model(
            Job.make(input={"batch": batch}, output=outputs, wildcards=wildcards),
            logging.getLogger("test"),
        )
        ours = keras.models.load_model(outputs["model"]).get_weights()
        theirs = keras.models.load_model(paths["models"][k]).get_weights()
        for mine, alone in zip(ours, theirs, strict=True):
            np.testing.assert_array_equal(mine, alone)
        for artifact, their_path in (
            ("metrics", paths["metrics"][k]),
            ("attack", paths["attacks"][k]),
        ):
            mine, alone = _datasets(outputs[artifact]), _datasets(their_path)
            assert set(mine) == set(alone)
            for key, values in alone.items():
                np.testing.assert_array_equal(mine[key], values, err_msg=f"{artifact} {key}")

    inside = LAYOUT.under(batch)
    wildcards = {"name": instances[chosen[0]].name, "seed": str(instances[chosen[0]].seed)}
    with open(inside.path("attack", **wildcards), "r+b") as handle:
        handle.truncate(500)
    target = {artifact: str(tmp_path / f"again_{artifact}") for artifact in PER_INSTANCE}
    with pytest.raises(h5io.ArtifactError, match="damaged .*--forcerun szegedy_model_batch"):
        stages.place_model(
            Job.make(input={"batch": batch}, output=target, wildcards=wildcards),
            logging.getLogger("test"),
        )
    assert not Path(target["attack"]).exists()


def test_a_model_file_that_does_not_match_its_config_fails_without_an_artifact(chain, tmp_path):
    _, section, _, params, paths, mnist = chain
    wrong = dict(params[0], architecture="fc20-10")
    output = tmp_path / "attack.h5"
    with pytest.raises(ValueError, match="model does not match its config") as error:
        stages.attack_lbfgs(
            Job.make(
                input={"mnist": mnist, "models": [paths["models"][0]]},
                output={"attacks": [str(output)]},
                params={"models": [wrong], "attack": section["attack"]},
            ),
            logging.getLogger("test"),
        )
    assert "\n" not in str(error.value) and paths["models"][0] in str(error.value)
    assert not output.exists() and not list(Path(tmp_path).iterdir())


def test_mismatched_lists_are_refused(chain, tmp_path):
    _, section, _, params, paths, mnist = chain
    with pytest.raises(ValueError, match="1 attack outputs for 2 models"):
        stages.attack_lbfgs(
            Job.make(
                input={"mnist": mnist, "models": paths["models"][:2]},
                output={"attacks": str(tmp_path / "a.h5")},
                params={"models": params[:2], "attack": section["attack"]},
            ),
            logging.getLogger("test"),
        )


def test_config_checks_name_the_key(tmp_path):
    (tmp_path / "models.yaml").write_text(MODELS)
    with pytest.raises(ValueError, match="adversarial_training.base: 'nope' is not an experiment"):
        load_section(
            {
                "experiment_lists": [str(tmp_path / "models.yaml")],
                "adversarial_training": {"base": "nope"},
            },
            [tmp_path],
        )
    (tmp_path / "bad.yaml").write_text("- name: x\n  architecture: cnn5\n")
    with pytest.raises(ValueError, match=r"bad.yaml: \[0\]\.architecture"):
        load_section({"experiment_lists": [str(tmp_path / "bad.yaml")]}, [tmp_path])


def _report_artifacts(chain) -> report.Artifacts:
    root, _, _, params, paths, _ = chain
    return report.Artifacts(
        instances=params,
        metrics=paths["metrics"],
        attacks=paths["attacks"],
        train_attacks=paths["train_attacks"],
        transfer=str(root / "transfer.h5"),
        adversarial=[str(root / "adversarial" / "metrics.h5")],
        units=str(root / "units.h5"),
        bounds=str(root / "bounds.h5"),
    )


def test_summarise_and_render(chain, tmp_path):
    root = chain[0]
    summary, section, figures = summarise_and_render(
        report, _report_artifacts(chain), tmp_path / "figures"
    )
    assert summary["transfer"]["table2"]["seeds"] == [0]
    assert summary["transfer"]["table2"]["columns"] == ["FC10(1e-4)", "FC100-100-10"]
    assert set(summary["table3"]) == {"p1_a (P1)", "p1_b (P1)", "p2_a (P2)"}
    assert summary["table5"]["vgg16"]["comparable"] is False
    # The stage wrote the same section (the stage is summarise, then render).
    assert section.html == (root / "section.html").read_text()
    assert {path.name for path in figures.written} == {
        "units_purity.png",
        "adversarial_examples.png",
    }


def test_the_report_runs_without_tensorflow(chain):
    assert_no_tensorflow(report, _report_artifacts(chain))

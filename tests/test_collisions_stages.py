"""The collisions_mnist study's stage functions, called as the rules call them, on real MNIST
and a small real MLP (no Snakemake, no scripts)."""

import json
import logging
import os
from pathlib import Path

import h5py
import numpy as np
import pytest

from fooled.core.config import schema_defaults
from fooled.core.stage import Job, run_stage
from fooled.data import stages as data_stages
from fooled.models import stages as model_stages
from fooled.report import assemble
from fooled.report.study import section_stage
from fooled.studies.collisions import mnist_report, sources_mnist, stages_mnist

STUDY = "studies/collisions_mnist.schema.yaml"
LOGGER = logging.getLogger("test_collisions_stages")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    mirror = os.environ.get("MNIST_MIRROR")
    if not mirror or not Path(mirror).is_dir():
        pytest.skip("MNIST_MIRROR is unset: point it at a directory holding the MNIST .gz files")
    folder = tmp_path_factory.mktemp("collisions")
    mnist = folder / "mnist.h5"
    settings = schema_defaults("datasets/mnist.schema.yaml")
    data_stages.download_mnist(
        Job.make(output={"mnist": str(mnist)}, params={"settings": settings}), LOGGER
    )
    mlp = schema_defaults("models/mlp.schema.yaml") | {
        "epochs": 1,
        "max_train_samples": 3000,
        "hidden_units": [32, 32],
    }
    model_stages.train_mlp(
        Job.make(
            input={"mnist": str(mnist)},
            output={"model": str(folder / "model.keras"), "metrics": str(folder / "metrics.h5")},
            params={"settings": mlp},
        ),
        LOGGER,
    )
    return folder


def _inputs(folder: Path) -> dict:
    return {
        "mnist": str(folder / "mnist.h5"),
        "model": str(folder / "model.keras"),
        "metrics": str(folder / "metrics.h5"),
    }


def _outputs(folder: Path, name: str, stages=("collide", "interpolate", "polytope")) -> dict:
    return {stage: str(folder / stage / f"{name}.h5") for stage in stages}


def _micro(trained: Path, name: str, **overrides) -> Job:
    experiment = schema_defaults(STUDY, "defaults", "micro") | {
        "name": name,
        "mode": "micro",
        "seed": {"class": 3, "index": 0},
        "target": {"class": 7, "index": 0},
        "n_corners": 3,
        "max_steps": 300,
        **overrides,
    }
    return Job.make(
        input=_inputs(trained),
        output=_outputs(trained, name),
        params={
            "experiment": experiment,
            "interpolate": schema_defaults(STUDY, "interpolate") | {"n_samples": 100},
            "polytope": schema_defaults(STUDY, "polytope") | {"time_limit_seconds": 30},
        },
        wildcards={"experiment": name},
    )


@pytest.fixture(scope="module")
def micro(trained):
    stages_mnist.collide_micro(_micro(trained, "three_to_seven"), LOGGER)
    return trained


def test_one_job_writes_corners_interpolations_and_the_exact_polytope(micro):
    with h5py.File(micro / "collide/three_to_seven.h5") as handle:
        assert handle["corners"].shape == (3, 28, 28)
        assert handle["preact_corners"].shape == (3, 32)
        assert handle.attrs["mode"] == "micro" and handle.attrs["n_corners"] == 3
        corners = handle["corners"][()]
        assert corners.min() >= 0 and corners.max() <= 1
    with h5py.File(micro / "interpolate/three_to_seven.h5") as handle:
        assert handle["weights"].shape == (100, 3)
        assert handle.attrs["experiment"] == "three_to_seven"
        checksums = json.loads(handle.attrs["input_checksums"])
        assert set(checksums) == {"collide", "model", "mnist"}
    with h5py.File(micro / "polytope/three_to_seven.h5") as handle:
        assert handle.attrs["applicable"]
        assert handle["lp_corners"].shape == (3, 28, 28)
        assert handle["lp_feasible"][()].all()
        assert handle["lp_certificate/certified"][()].all()
        assert handle["lp_certificate/max_equality_error"][()].max() < 1e-4
        assert handle["interp/weights"].shape == (100, 3)
        assert handle["interp/certified"][()].all()
        assert handle["pixel_ranges/low"].shape == (2,)
        attrs = dict(handle.attrs)
    assert attrs["lp_certified"] == 3 and attrs["target_certified"]
    assert attrs["rank_pos"] == attrs["n_positive_units"]
    assert attrs["interp_top_class_accuracy"] == 1.0 and "config_digest" in attrs


def test_a_deeper_layer_has_no_pixel_space_polytope_and_says_so(micro):
    stages_mnist.collide_micro(_micro(micro, "deep", layer="fc2", max_steps=50), LOGGER)
    with h5py.File(micro / "polytope/deep.h5") as handle:
        assert not handle.attrs["applicable"]
        assert "not fed by the pixels" in handle.attrs["reason"]
        assert "lp_corners" not in handle


def _datasets(path: Path) -> dict[str, np.ndarray]:
    found = {}
    with h5py.File(path) as handle:
        handle.visititems(
            lambda name, node: (
                found.__setitem__(name, node[()])
                if isinstance(node, h5py.Dataset) and "seconds" not in name
                else None
            )
        )
    return found


@pytest.mark.exactness
def test_a_batch_of_micro_experiments_gives_each_its_own_jobs_bits(micro, tmp_path):
    """Several experiments in one process (one TensorFlow start, one compiled loop), copied
    into place: the same datasets as one job per experiment, the same file layout."""
    from fooled.studies.collisions import batches
    from fooled.studies.collisions.layout import MNIST_LAYOUT

    alone = {
        name: _micro(micro, name, **overrides)
        for name, overrides in (
            ("batched_a", {}),
            ("batched_b", {"seed": {"class": 1, "index": 2}, "target": {"class": 4, "index": 0}}),
            ("batched_c", {"optimizer": "adam", "learning_rate": 0.01}),
        )
    }
    for job in alone.values():
        stages_mnist.collide_micro(job, LOGGER)
    first = next(iter(alone.values()))
    batch = Job.make(
        input=_inputs(micro),
        output={"batch": str(tmp_path / "batch")},
        params={
            "experiments": {name: job.params.experiment for name, job in alone.items()},
            "interpolate": first.params.interpolate,
            "polytope": first.params.polytope,
        },
    )
    stages_mnist.collide_micro_batch(batch, LOGGER)
    placed = MNIST_LAYOUT.under(tmp_path / "placed")
    for name, job in alone.items():
        outputs = {
            artifact: placed.path(artifact, experiment=name) for artifact in batches.MICRO_FILES
        }
        batches.place(batch.output.batch, name, outputs)
        for artifact in batches.MICRO_FILES:
            ours, theirs = _datasets(Path(outputs[artifact])), _datasets(Path(job.output[artifact]))
            assert set(ours) == set(theirs), (name, artifact)
            for key, values in theirs.items():
                np.testing.assert_array_equal(ours[key], values, err_msg=f"{name} {artifact} {key}")


def test_a_damaged_file_in_a_batch_is_not_copied_into_place(micro, tmp_path, capsys):
    from fooled.core import h5io
    from fooled.studies.collisions import batches
    from fooled.studies.collisions.layout import MNIST_LAYOUT

    job = _micro(micro, "lonely", max_steps=20)
    batch = tmp_path / "batch"
    inside = MNIST_LAYOUT.under(batch)
    job.output.update({a: inside.path(a, experiment="lonely") for a in batches.MICRO_FILES})
    stages_mnist.collide_micro(job, LOGGER)
    with open(job.output.collide, "r+b") as handle:
        handle.truncate(1000)
    target = {a: str(tmp_path / f"{a}.h5") for a in batches.MICRO_FILES}
    with pytest.raises(h5io.ArtifactError, match="damaged .*--forcerun collide_micro_batch"):
        batches.place(str(batch), "lonely", target)
    assert not Path(target["collide"]).exists()
    # The rule's job: one line on stderr, exit 1, nothing written.
    copy = Job.make(input={"batch": str(batch)}, output=target, wildcards={"experiment": "lonely"})
    with pytest.raises(SystemExit) as stopped:
        run_stage(
            "collide_micro",
            str(tmp_path / "copy.log"),
            lambda log: batches.collide_micro(copy, log),
        )
    assert stopped.value.code == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"collide_micro: {inside.path('collide', experiment='lonely')}: damaged")
    assert line.endswith("rerun with --forcerun collide_micro_batch")
    assert not any(Path(path).exists() for path in target.values())


@pytest.mark.exactness
def test_the_same_job_twice_gives_the_same_datasets(micro, tmp_path):
    again = _micro(micro, "three_to_seven")
    again.output.update(_outputs(tmp_path, "three_to_seven"))
    stages_mnist.collide_micro(again, LOGGER)
    for stage in ("collide", "interpolate", "polytope"):
        with (
            h5py.File(micro / stage / "three_to_seven.h5") as a,
            h5py.File(tmp_path / stage / "three_to_seven.h5") as b,
        ):
            for name in a:
                if isinstance(a[name], h5py.Dataset) and name != "lp_seconds":
                    np.testing.assert_array_equal(a[name][()], b[name][()], err_msg=name)


@pytest.fixture(scope="module")
def macro(micro):
    name = "macro_3_to_7"
    patches = schema_defaults(STUDY, "mnist_patches") | {"n_images": 300}
    seed = {"class": 3, "index": 0}
    sources_mnist.mnist_sources(
        Job.make(
            input=_inputs(micro),
            output={"sources": str(micro / "sources" / f"{name}.h5")},
            params={"patches": patches, "seed": seed},
            wildcards={"experiment": name},
        ),
        LOGGER,
    )
    experiment = schema_defaults(STUDY, "defaults", "macro") | {
        "name": name,
        "mode": "macro",
        "seed": seed,
        "target": {"class": 7, "index": 0},
        "n_corners": 2,
        "max_steps": 100,
        "chunk_steps": 50,
        "checkpoint_every": 50,
        "schedule": {"boundaries": [50], "values": [0.01, 0.05]},
    }
    stages_mnist.collide_macro(
        Job.make(
            input=_inputs(micro) | {"sources": str(micro / "sources" / f"{name}.h5")},
            output=_outputs(micro, name, ("collide", "interpolate")),
            params={
                "experiment": experiment,
                "interpolate": schema_defaults(STUDY, "interpolate") | {"n_samples": 100},
                "checkpoint": str(micro / "checkpoints" / f"{name}.h5"),
            },
            wildcards={"experiment": name},
        ),
        LOGGER,
    )
    return micro


def test_the_macro_job_writes_composites_and_their_interpolations(macro):
    with h5py.File(macro / "collide/macro_3_to_7.h5") as handle:
        assert handle.attrs["mode"] == "macro" and handle.attrs["steps_run"] == 100
        assert handle["corners"].shape == (2, 28, 28) and handle["logits"].shape[:2] == (2, 121)
        corners = handle["corners"][()]
    assert corners.min() >= 0 and corners.max() <= 1
    assert not (macro / "checkpoints" / "macro_3_to_7.h5").exists()  # removed once done
    with h5py.File(macro / "interpolate/macro_3_to_7.h5") as handle:
        assert handle["weights"].shape == (100, 2)


def test_the_section_and_the_page(macro, tmp_path):
    names = ["three_to_seven", "macro_3_to_7"]
    out = tmp_path / "collisions_mnist"
    job = Job.make(
        input={
            "metrics": str(macro / "metrics.h5"),
            "collide": [str(macro / "collide" / f"{n}.h5") for n in names],
            "interpolate": [str(macro / "interpolate" / f"{n}.h5") for n in names],
            "polytope": [str(macro / "polytope" / "three_to_seven.h5")],
        },
        output={
            "html": str(out / "section.html"),
            "summary": str(out / "summary.json"),
            "figures": str(out / "figures"),
        },
        params={
            "collide_names": names,
            "interpolate_names": names,
            "polytope_names": ["three_to_seven"],
            "paper_case": "three_to_seven",
        },
    )
    section_stage(mnist_report)(job, LOGGER)
    figures = sorted(p.name for p in (out / "figures").glob("*.png"))
    assert "overview.png" in figures and "three_to_seven_lp_corners.png" in figures
    assert "macro_3_to_7_composites.png" in figures
    page_job = Job.make(
        input={"html": [job.output.html], "summary": [job.output.summary]},
        output={"html": str(tmp_path / "report.html"), "summary": str(tmp_path / "summary.json")},
        params={"config": {"report": {"title": "Test report"}}},
    )
    assemble.assemble(page_job, LOGGER)
    summary = json.loads((tmp_path / "summary.json").read_text())
    study = summary["collisions_mnist"]
    assert set(study["experiments"]) == set(names)
    assert study["experiments"]["three_to_seven"]["exact"]["lp_certified"] == 3
    page = (tmp_path / "report.html").read_text()
    assert "<h1>Test report</h1>" in page and "href='#collisions_mnist'" in page

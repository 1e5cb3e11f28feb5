"""The registry of input kinds: every reader on real HDF5 files; missing kinds are skipped."""

from pathlib import Path

import numpy as np
import pytest
from defences_helpers import pixels

from fooled.core import h5io
from fooled.studies import registry
from fooled.studies.collisions.layout import MNIST_LAYOUT
from fooled.studies.defences import kinds
from fooled.studies.defences.layout import LAYOUT as DEFENCES
from fooled.studies.fooling.layout import LAYOUT as FOOLING
from fooled.studies.szegedy.layout import LAYOUT as SZEGEDY


def _write(path: Path, datasets: dict, attrs: dict | None = None) -> str:
    h5io.write_artifact(path, datasets, h5io.provenance({}), attrs or {})
    return str(path)


@pytest.fixture(scope="module")
def digits() -> np.ndarray:
    return pixels("test", 40)[0]


@pytest.fixture
def run_folder(tmp_path: Path, digits: np.ndarray) -> Path:
    """Artifacts of every kind where the studies' layouts put them (real digits inside)."""
    _write(
        DEFENCES.under(tmp_path).path("fgsm"),
        {"epsilons": np.array([0.1, 0.25]), "adversarial": np.stack([digits[:5], digits[5:10]])},
    )
    _write(
        DEFENCES.under(tmp_path).path("pgd"),
        {"epsilons": np.array([0.25]), "adversarial": digits[None, 10:14]},
    )
    _write(
        SZEGEDY.under(tmp_path).path("attack", name="fc100-100-10", seed=0),
        {
            "adversarial": digits[:4],
            "images": digits[:4],
            "labels": np.arange(4),
            "targets": np.arange(4) + 1,
            "success": np.array([True, False, True, True]),
        },
        {"model": "fc100-100-10", "seed": 0},
    )
    fooling = FOOLING.under(tmp_path)
    for experiment, model, encoding, run in (
        ("mlp_direct", "mlp", "direct", 0),
        ("mlp_direct", "mlp", "direct", 1),
        ("lenet_5_cppn", "lenet_5", "cppn", 0),
    ):
        _write(
            fooling.path("evolve", experiment=experiment, run=run),
            {"elites": digits[:10]},
            {"experiment": experiment, "model": model, "encoding": encoding, "run": run},
        )
    _write(
        fooling.path("ascend", experiment="mlp_ascent"),
        {"images": digits[:3]},
        {"experiment": "mlp_ascent", "model": "mlp"},
    )
    collisions = MNIST_LAYOUT.under(tmp_path)
    _write(
        collisions.path("collide", experiment="pair_a"), {"corners": digits[:3]}, {"mode": "micro"}
    )
    _write(
        collisions.path("collide", experiment="pair_b"), {"corners": digits[3:5]}, {"mode": "macro"}
    )
    # older artifacts: no mode, micro
    _write(collisions.path("collide", experiment="pair_c"), {"corners": digits[5:8]})
    weights_a = np.random.default_rng(0).dirichlet(np.ones(3), 6).astype(np.float32)
    _write(collisions.path("interpolate", experiment="pair_a"), {"weights": weights_a})
    _write(
        collisions.path("interpolate", experiment="pair_b"),
        {"weights": np.full((4, 2), 0.5, np.float32)},
    )
    return tmp_path


def _found(folder: Path) -> dict[str, list[str]]:
    """Every kind's files in a run folder, as the workflow hands them to the score stage (the
    macro experiments' sources are the adaptive stage's and the card's measures the report's:
    neither is a kind)."""
    inputs = registry.find_inputs("defences", str(folder))
    found = {name: paths for name, paths in inputs.items() if name in kinds.KINDS}
    assert set(inputs) - set(found) == {"sources", "card"}
    own = DEFENCES.under(folder)
    return found | {"fgsm": [own.path("fgsm")], "pgd": [own.path("pgd")]}


def _context(digits: np.ndarray, limit: int = 1000, folder: Path | None = None) -> kinds.Context:
    corners_of = {}
    if folder is not None:
        found = registry.find_inputs("defences", str(folder))
        corners_of = registry.siblings(
            "collisions_mnist.interpolate", found["interpolations"], "collide"
        )
    return kinds.Context(
        clean=digits, noise_stddevs=(0.1, 0.3), seed=0, max_per_set=limit, corners_of=corners_of
    )


def test_every_kind_is_found_and_read(run_folder: Path, digits: np.ndarray):
    found = _found(run_folder)
    assert {name: len(paths) for name, paths in found.items()} == {
        "fgsm": 1,
        "pgd": 1,
        "lbfgs": 1,
        "evolved": 3,
        "ascent": 1,
        "collisions": 3,
        "interpolations": 2,
    }
    collected = kinds.collect(found, _context(digits, folder=run_folder))
    assert collected.skipped == {}
    sizes = {row.name: len(row.images) for row in collected.sets}
    assert sizes == {
        "clean": 40,
        "noise_0.1": 40,
        "noise_0.3": 40,
        "fgsm_eps0.1": 5,
        "fgsm_eps0.25": 5,
        "pgd_eps0.25": 4,
        "lbfgs_fc100-100-10": 3,  # the successful ones
        "evolved_lenet_5_cppn": 10,
        "evolved_mlp_direct": 20,  # two runs pooled
        "ascent_mlp_ascent": 3,
        "collisions_micro": 6,
        "collisions_macro": 2,
        "interpolations_micro": 6,
        "interpolations_macro": 4,
    }
    by_name = {row.name: row for row in collected.sets}
    for row in collected.sets:
        assert row.images.shape[1:] == (28, 28) and row.images.dtype == np.float32
        assert 0.0 <= row.images.min() and row.images.max() <= 1.0
    np.testing.assert_array_equal(by_name["lbfgs_fc100-100-10"].images, digits[[0, 2, 3]])
    assert by_name["pgd_eps0.25"].label == "PGD, eps 0.25"
    assert by_name["pgd_eps0.25"].settings == {"epsilon": 0.25}
    weights_a = h5io.read_arrays(found["interpolations"][0], ["weights"])["weights"]
    expected = np.einsum("mn,nij->mij", weights_a, digits[:3])
    np.testing.assert_allclose(by_name["interpolations_micro"].images, expected, atol=1e-6)
    np.testing.assert_allclose(
        by_name["interpolations_macro"].images, np.broadcast_to(digits[3:5].mean(0), (4, 28, 28))
    )
    noisy = by_name["noise_0.3"].images
    # clipping at 0 and 1 halves the noise on the black background and on white strokes
    assert 0.15 < np.std(noisy - digits) < 0.3
    assert np.std(by_name["noise_0.1"].images - digits) < 0.1
    again = (
        kinds.collect(found, _context(digits, folder=run_folder), kinds=["noise"]).sets[1].images
    )
    np.testing.assert_array_equal(again, noisy)  # seeded


def test_missing_kinds_are_skipped_with_a_reason(tmp_path: Path, digits: np.ndarray):
    absent = str(tmp_path / "results/szegedy/attack/mlp.h5")
    collected = kinds.collect({"lbfgs": [absent], "evolved": []}, _context(digits))
    assert [row.name for row in collected.sets] == ["clean", "noise_0.1", "noise_0.3"]
    assert set(collected.skipped) == {
        "fgsm", "pgd", "lbfgs", "evolved", "ascent", "collisions", "interpolations"
    }  # fmt: skip
    assert "szegedy" in collected.skipped["lbfgs"] and absent in collected.skipped["lbfgs"]
    assert "collisions_mnist" in collected.skipped["interpolations"]
    with pytest.raises(ValueError, match="unknown input kind"):
        kinds.collect({"lbfsg": []}, _context(digits))


def test_rows_are_capped_by_a_seeded_sample(run_folder: Path, digits: np.ndarray):
    found = _found(run_folder)
    capped = kinds.collect(found, _context(digits, limit=4), kinds=["evolved"]).sets
    assert [len(row.images) for row in capped] == [4, 4]
    assert "4 of 20" in capped[1].note
    again = kinds.collect(found, _context(digits, limit=4), kinds=["evolved"]).sets
    np.testing.assert_array_equal(capped[1].images, again[1].images)


def test_damaged_inputs_fail_with_a_line_naming_the_file(tmp_path: Path, digits: np.ndarray):
    scaled = _write(tmp_path / "ascend/mlp.h5", {"images": digits[:2] * 255})
    with pytest.raises(h5io.ArtifactError, match=r"ascend/mlp\.h5.*not pixels in \[0, 1\]"):
        kinds.collect({"ascent": [scaled]}, _context(digits), kinds=["ascent"])
    orphan = _write(tmp_path / "interpolate/pair_z.h5", {"weights": np.ones((2, 2), np.float32)})
    with pytest.raises(h5io.ArtifactError, match="its corners .* are not named"):
        kinds.collect({"interpolations": [orphan]}, _context(digits), kinds=["interpolations"])
    missing = kinds.Context(
        clean=digits, noise_stddevs=(), seed=0, max_per_set=9, corners_of={orphan: "gone.h5"}
    )
    with pytest.raises(h5io.ArtifactError, match="its corners gone.h5 are missing"):
        kinds.collect({"interpolations": [orphan]}, missing, kinds=["interpolations"])


def test_imagenet_runs_of_the_same_attacks_are_left_out(tmp_path: Path, digits: np.ndarray):
    evolve = tmp_path / "results/fooling/evolve"
    mnist = _write(
        evolve / "lenet_direct_0.h5",
        {"elites": digits[:10]},
        {"model": "lenet", "encoding": "direct"},
    )
    imagenet = _write(evolve / "vgg16_cppn_0.h5", {"elites": np.zeros((2, 32, 32, 3), np.float32)})
    rows = kinds.collect({"evolved": [mnist, imagenet]}, _context(digits), kinds=["evolved"]).sets
    assert [row.name for row in rows] == ["evolved_lenet_direct"]
    assert "left out vgg16_cppn_0.h5" in rows[0].note
    only = kinds.collect({"evolved": [imagenet]}, _context(digits), kinds=["evolved"])
    assert only.sets == [] and "no MNIST images" in only.skipped["evolved"]
    assert kinds.is_mnist_shape((5, 28, 28, 1)) and kinds.is_mnist_shape((5, 784))
    assert not kinds.is_mnist_shape((5, 224, 224, 3))

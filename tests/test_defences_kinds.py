"""The registry of input kinds: every reader on real HDF5 files; missing kinds are skipped."""

from pathlib import Path

import numpy as np
import pytest
from defences_helpers import pixels

from fooled.core import h5io
from fooled.studies.defences import kinds


def _write(path: Path, datasets: dict, attrs: dict | None = None) -> str:
    h5io.write_artifact(path, datasets, h5io.provenance({}), attrs or {})
    return str(path)


@pytest.fixture(scope="module")
def digits() -> np.ndarray:
    return pixels("test", 40)[0]


@pytest.fixture
def run_folder(tmp_path: Path, digits: np.ndarray) -> Path:
    """Artifacts of every kind, in the layouts the other studies document (real digits inside)."""
    results = tmp_path / "results"
    _write(
        results / "defences/fgsm.h5",
        {"epsilons": np.array([0.1, 0.25]), "adversarial": np.stack([digits[:5], digits[5:10]])},
    )
    _write(
        results / "szegedy/attack/fc_100_100.h5",
        {
            "adversarial": digits[:4],
            "images": digits[:4],
            "labels": np.arange(4),
            "targets": np.arange(4) + 1,
            "success": np.array([True, False, True, True]),
        },
    )
    for name in ("mlp_direct_0", "mlp_direct_1", "lenet_5_cppn_0"):
        _write(results / f"fooling/evolve/{name}.h5", {"elites": digits[:10]})
    _write(results / "fooling/ascend/mlp.h5", {"images": digits[:3]})
    collide = results / "collisions_mnist/collide"
    _write(collide / "pair_a.h5", {"corners": digits[:3]}, {"mode": "micro"})
    _write(collide / "pair_b.h5", {"corners": digits[3:5]}, {"mode": "macro"})
    _write(collide / "pair_c.h5", {"corners": digits[5:8]})  # older artifacts: no mode, micro
    interpolate = results / "collisions_mnist/interpolate"
    weights_a = np.random.default_rng(0).dirichlet(np.ones(3), 6).astype(np.float32)
    _write(interpolate / "pair_a.h5", {"weights": weights_a})
    _write(interpolate / "pair_b.h5", {"weights": np.full((4, 2), 0.5, np.float32)})
    return tmp_path


def _context(digits: np.ndarray, limit: int = 1000) -> kinds.Context:
    return kinds.Context(clean=digits, noise_stddevs=(0.1, 0.3), seed=0, max_per_set=limit)


def test_every_kind_is_found_and_read(run_folder: Path, digits: np.ndarray):
    found = kinds.find_artifacts(run_folder)
    assert {name: len(paths) for name, paths in found.items()} == {
        "clean": 0,
        "noise": 0,
        "fgsm": 1,
        "lbfgs": 1,
        "evolved": 3,
        "ascent": 1,
        "collisions": 3,
        "interpolations": 2,
    }
    collected = kinds.collect(found, _context(digits))
    assert collected.skipped == {}
    sizes = {row.name: len(row.images) for row in collected.sets}
    assert sizes == {
        "clean": 40,
        "noise_0.1": 40,
        "noise_0.3": 40,
        "fgsm_eps0.1": 5,
        "fgsm_eps0.25": 5,
        "lbfgs_fc_100_100": 3,  # the successful ones
        "evolved_lenet_5_cppn": 10,
        "evolved_mlp_direct": 20,  # two runs pooled
        "ascent_mlp": 3,
        "collisions_micro": 6,
        "collisions_macro": 2,
        "interpolations_micro": 6,
        "interpolations_macro": 4,
    }
    by_name = {row.name: row for row in collected.sets}
    for row in collected.sets:
        assert row.images.shape[1:] == (28, 28) and row.images.dtype == np.float32
        assert 0.0 <= row.images.min() and row.images.max() <= 1.0
    np.testing.assert_array_equal(by_name["lbfgs_fc_100_100"].images, digits[[0, 2, 3]])
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
    again = kinds.collect(found, _context(digits), kinds=["noise"]).sets[1].images
    np.testing.assert_array_equal(again, noisy)  # seeded


def test_missing_kinds_are_skipped_with_a_reason(tmp_path: Path, digits: np.ndarray):
    absent = str(tmp_path / "results/szegedy/attack/mlp.h5")
    collected = kinds.collect({"lbfgs": [absent], "evolved": []}, _context(digits))
    assert [row.name for row in collected.sets] == ["clean", "noise_0.1", "noise_0.3"]
    assert set(collected.skipped) == {
        "fgsm", "lbfgs", "evolved", "ascent", "collisions", "interpolations"
    }  # fmt: skip
    assert "szegedy" in collected.skipped["lbfgs"] and absent in collected.skipped["lbfgs"]
    assert "collisions_mnist" in collected.skipped["interpolations"]
    with pytest.raises(ValueError, match="unknown input kind"):
        kinds.collect({"lbfsg": []}, _context(digits))


def test_rows_are_capped_by_a_seeded_sample(run_folder: Path, digits: np.ndarray):
    found = kinds.find_artifacts(run_folder)
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
    with pytest.raises(h5io.ArtifactError, match="its corners .* are missing"):
        kinds.collect({"interpolations": [orphan]}, _context(digits), kinds=["interpolations"])


def test_imagenet_runs_of_the_same_attacks_are_left_out(tmp_path: Path, digits: np.ndarray):
    evolve = tmp_path / "results/fooling/evolve"
    mnist = _write(evolve / "lenet_direct_0.h5", {"elites": digits[:10]})
    imagenet = _write(evolve / "vgg16_cppn_0.h5", {"elites": np.zeros((2, 32, 32, 3), np.float32)})
    rows = kinds.collect({"evolved": [mnist, imagenet]}, _context(digits), kinds=["evolved"]).sets
    assert [row.name for row in rows] == ["evolved_lenet_direct"]
    assert "left out vgg16_cppn_0.h5" in rows[0].note
    only = kinds.collect({"evolved": [imagenet]}, _context(digits), kinds=["evolved"])
    assert only.sets == [] and "no MNIST images" in only.skipped["evolved"]
    assert kinds.is_mnist_shape((5, 28, 28, 1)) and kinds.is_mnist_shape((5, 784))
    assert not kinds.is_mnist_shape((5, 224, 224, 3))

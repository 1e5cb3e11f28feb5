"""Units versus random directions: the purity statistic and permutation test, constructed data."""

import numpy as np
import pytest

from fooled.studies.szegedy import units


def test_top_k_purity_counts_the_majority_label():
    labels = np.array([0, 0, 1, 1, 2, 2, 2, 3])
    scores = np.zeros((8, 3))
    scores[[4, 5, 6], 0] = [3, 2, 1]  # unit 0: top-3 are all label 2
    scores[[0, 2, 4], 1] = [3, 2, 1]  # unit 1: three different labels
    scores[[0, 1, 7], 2] = [3, 2, 1]  # unit 2: two of label 0, one of label 3
    np.testing.assert_allclose(units.top_k_purity(scores, labels, 3), [1.0, 1 / 3, 2 / 3])
    with pytest.raises(ValueError, match="k must lie in 1..8"):
        units.top_k_purity(scores, labels, 9)


def test_permutation_test_separates_shifted_groups_and_not_equal_ones():
    rng = np.random.default_rng(0)
    same_a, same_b = rng.uniform(0, 1, 100), rng.uniform(0, 1, 100)
    p_same = units.permutation_test(same_a, same_b, 2000, np.random.default_rng(1))
    p_shift = units.permutation_test(same_a + 0.3, same_b, 2000, np.random.default_rng(1))
    assert p_same > 0.05
    assert p_shift == pytest.approx(1 / 2001)  # never exceeded; never reported as zero
    # Identical groups: every permutation is at least as extreme.
    assert units.permutation_test(np.ones(5), np.ones(5), 100, rng) == 1.0


def test_units_that_encode_labels_are_purer_than_random_directions():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 3000)
    # 30 label detectors (3 per label) and 30 units of noise: each detector's top images share
    # its label; a random direction mostly sums noise, so its top images are mixed.
    detectors = np.repeat((labels[:, None] == np.arange(10)[None]).astype(float), 3, axis=1)
    detectors += rng.normal(0, 0.05, detectors.shape)
    activations = np.concatenate([detectors, rng.normal(0, 1, (3000, 30))], axis=1)
    result = units.units_versus_directions(
        activations, labels, n_units=60, n_directions=100, k=20, n_permutations=2000, seed=0
    )
    assert len(result.purity_units) == 60 and len(result.purity_directions) == 100
    assert (result.purity_units[:30] == 1.0).all()
    summary = result.summary()
    assert summary["purity_units_mean"] > summary["purity_directions_mean"] + 0.2
    assert summary["p_value"] < 0.01
    assert 0.2 < summary["chance"] < 0.35
    # Units and directions of pure noise: no detectable difference.
    noise = units.units_versus_directions(
        rng.normal(0, 1, (3000, 60)),
        labels,
        n_units=60,
        n_directions=100,
        k=20,
        n_permutations=2000,
        seed=1,
    )
    assert noise.p_value > 0.01


def test_chance_purity_of_random_images():
    labels = np.repeat(np.arange(10), 100)
    value = units.chance_purity(labels, 10, 500, np.random.default_rng(0))
    assert 0.2 < value < 0.35  # a few of ten random digits share the commonest label
    assert units.chance_purity(np.zeros(50, int), 10, 10, np.random.default_rng(0)) == 1.0

"""Simplex weights, pairwise distances and the interpolation check on small real inputs."""

import numpy as np
import pytest

from fooled.studies.collisions import interpolation


def test_simplex_weights_are_convex_seeded_and_uniform():
    weights = interpolation.simplex_weights(20000, 5, seed=3)
    assert weights.shape == (20000, 5) and weights.dtype == np.float32
    assert (weights >= 0).all()
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-6)
    np.testing.assert_array_equal(weights, interpolation.simplex_weights(20000, 5, seed=3))
    assert not np.array_equal(weights, interpolation.simplex_weights(20000, 5, seed=4))
    # Dirichlet(1,...,1): each coordinate has mean 1/5 and P(w_0 > 1/2) = (1/2)^4.
    np.testing.assert_allclose(weights.mean(axis=0), 0.2, atol=0.01)
    assert abs((weights[:, 0] > 0.5).mean() - 0.0625) < 0.01


def test_mean_pairwise_distance_matches_brute_force():
    points = np.random.default_rng(0).normal(size=(7, 3, 4))
    flat = points.reshape(7, -1)
    brute = [np.linalg.norm(flat[i] - flat[j]) for i in range(7) for j in range(i + 1, 7)]
    assert interpolation.mean_pairwise_distance(points) == pytest.approx(np.mean(brute))
    with pytest.raises(ValueError):
        interpolation.mean_pairwise_distance(flat[:1])


def test_check_interpolations_with_a_linear_classifier():
    # Two classes split by the sign of the first coordinate; corners all in class 1's half.
    corners = np.array([[1.0, 0.0], [2.0, 5.0], [0.5, -3.0]], np.float32)

    def probabilities(batch):
        logits = np.stack([-batch[:, 0], batch[:, 0]], axis=1)
        exp = np.exp(logits - logits.max(axis=1, keepdims=True))
        return exp / exp.sum(axis=1, keepdims=True)

    result = interpolation.check_interpolations(corners, 1, probabilities, n_samples=500, seed=0)
    assert result.top_class_accuracy == 1.0
    assert result.predicted.shape == (500,) and (result.predicted == 1).all()
    np.testing.assert_allclose(result.top_probability, result.target_class_probability)
    assert result.prob_mean == pytest.approx(float(result.top_probability.mean()))
    # A corner across the boundary makes some mixtures flip: the check must see it.
    mixed = interpolation.check_interpolations(
        np.vstack([corners, [[-9.0, 0.0]]]), 1, probabilities, n_samples=500, seed=0
    )
    assert 0.0 < mixed.top_class_accuracy < 1.0

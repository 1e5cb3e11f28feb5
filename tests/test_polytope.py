"""Exact collision polytopes by LP, on toy layers whose answers are known by hand or enumeration."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from fooled.attacks import lp_corners

EPS = 1e-6


def _toy_layer(seed: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A 6-input, 4-unit layer and a target in the box with 2 positive and 2 negative units."""
    rng = np.random.default_rng(seed)
    while True:
        weights = rng.normal(size=(6, 4))
        bias = rng.normal(scale=0.5, size=4)
        target = rng.uniform(0.2, 0.8, size=6)
        preact = target @ weights + bias
        if (preact >= 0).sum() == 2 and (preact < -0.1).sum() == 2:
            return weights, bias, target, preact


def _assert_in_polytope(poly: lp_corners.CollisionPolytope, x: np.ndarray, tol: float) -> None:
    preact = poly.preact(x)[0]
    positive = poly.positive
    assert np.abs(preact[positive] - poly.preact_target[positive]).max() <= tol
    assert preact[~positive].max() <= tol
    assert x.min() >= -tol and x.max() <= 1 + tol


def _vertices(poly: lp_corners.CollisionPolytope) -> np.ndarray:
    """Every vertex, by enumeration: equalities plus d - n_eq tight inequalities, then feasible."""
    a_eq, b_eq = poly.equalities()
    a_ub, b_ub = poly.inequalities()
    d = poly.n_inputs
    eye = np.eye(d)
    # Inequalities as rows g x <= h: the negative units, x <= 1 and -x <= 0.
    g = np.vstack([a_ub, eye, -eye])
    h = np.concatenate([b_ub, np.ones(d), np.zeros(d)])
    found = []
    for rows in itertools.combinations(range(len(g)), d - a_eq.shape[0]):
        system = np.vstack([a_eq, g[list(rows)]])
        if np.linalg.matrix_rank(system) < d:
            continue
        x = np.linalg.solve(system, np.concatenate([b_eq, h[list(rows)]]))
        if np.all(g @ x <= h + 1e-9):
            found.append(x)
    return np.array(found)


def test_lp_corner_is_an_optimal_vertex() -> None:
    weights, bias, _, preact = _toy_layer()
    poly = lp_corners.CollisionPolytope.from_layer(weights, bias, preact)
    vertices = _vertices(poly)
    assert len(vertices) > 0
    for unit in poly.negative_units:
        result = lp_corners.lp_corner(weights, bias, preact, int(unit))
        assert result.success and result.status == 0 and result.mode == "vertex"
        _assert_in_polytope(poly, result.x[None], EPS)
        # Optimal: no vertex (and so no point of the polytope) has a lower f0_unit.
        best = (vertices @ weights[:, unit] + bias[unit]).min()
        assert result.objective == pytest.approx(best, abs=1e-7)
        # A vertex: it is one of the enumerated vertices.
        assert np.min(np.abs(vertices - result.x).max(axis=1)) < 1e-6
        assert result.seconds >= 0.0


def test_corners_differ_per_unit_and_certify() -> None:
    weights, bias, target, preact = _toy_layer()
    poly = lp_corners.CollisionPolytope.from_layer(weights, bias, preact)
    results = lp_corners.lp_corners(poly, poly.negative_units)
    points = np.stack([r.x for r in results])
    assert not np.allclose(points[0], points[1])
    certificate = lp_corners.certify(weights, bias, preact, points, tol=EPS)
    assert certificate.exact.all() and certificate.certified.all()
    assert certificate.max_equality_error.max() <= EPS
    assert certificate.max_negative_preact.max() <= EPS
    assert certificate.post_activation_error.max() <= EPS
    assert not certificate.downstream_checked


def test_near_seed_mode() -> None:
    weights, bias, target, preact = _toy_layer()
    poly = lp_corners.CollisionPolytope.from_layer(weights, bias, preact)
    unit = int(poly.negative_units[0])
    # The target is in its own polytope: with no unit term the closest collision is itself.
    same = lp_corners.lp_corner(poly, unit=unit, seed=target, unit_weight=0.0)
    assert same.success and same.mode == "near_seed"
    np.testing.assert_allclose(same.x, target, atol=1e-7)
    # From an outside seed: feasible, and no farther (L1) than the vertex corner.
    seed = np.zeros(6)
    near = lp_corners.lp_corner(poly, unit=unit, seed=seed, unit_weight=0.0)
    vertex = lp_corners.lp_corner(poly, unit=unit)
    _assert_in_polytope(poly, near.x[None], EPS)
    assert np.abs(near.x - seed).sum() <= np.abs(vertex.x - seed).sum() + 1e-9
    # A large unit weight still gives an exact collision (the L1 split stays exact).
    heavy = lp_corners.lp_corner(poly, unit=unit, seed=seed, unit_weight=100.0)
    _assert_in_polytope(poly, heavy.x[None], EPS)
    assert heavy.objective <= near.objective + 1e-9


def test_infeasible_target_is_reported_not_raised() -> None:
    weights, bias, _, preact = _toy_layer()
    impossible = preact.copy()
    positive = np.flatnonzero(impossible >= 0)
    # Unreachable in the box: larger than the unit's largest value on [0, 1]^6.
    impossible[positive[0]] = bias[positive[0]] + np.maximum(weights[:, positive[0]], 0).sum() + 5
    unit = int(np.flatnonzero(impossible < 0)[0])
    for seed in (None, np.full(6, 0.5)):
        result = lp_corners.lp_corner(weights, bias, impossible, unit, seed=seed)
        assert not result.success
        assert result.status == 2
        assert "infeasible" in result.message.lower()
        assert np.isnan(result.x).all() and np.isnan(result.objective)
        certificate = lp_corners.certify(weights, bias, impossible, result.x)
        assert not certificate.certified.any()  # a NaN point never certifies
    poly = lp_corners.CollisionPolytope.from_layer(weights, bias, impossible)
    pixel = lp_corners.pixel_range(poly, 0)
    assert (pixel.status_low, pixel.status_high) == (2, 2)
    assert np.isnan(pixel.low) and np.isnan(pixel.high)


def test_certify_flags_perturbed_corner_and_checks_later_layers() -> None:
    weights, bias, target, preact = _toy_layer()
    rng = np.random.default_rng(0)
    head = rng.normal(size=(4, 3))

    def activations(x: np.ndarray) -> list[np.ndarray]:
        hidden = np.maximum(np.asarray(x, np.float64) @ weights + bias, 0.0)
        logits = hidden @ head
        return [hidden, logits]

    poly = lp_corners.CollisionPolytope.from_layer(weights, bias, preact)
    corner = lp_corners.lp_corner(poly, unit=int(poly.negative_units[1])).x
    # Along the equality rows' span, so the perturbation certainly breaks an equality.
    direction = weights[:, poly.positive][:, 0]
    perturbed = np.clip(corner + 1e-2 * direction / np.linalg.norm(direction), 0, 1)
    checks = {"activations": activations, "target": target, "tol": 1e-4}
    certificate = lp_corners.certify(poly, None, None, np.stack([corner, perturbed]), **checks)
    assert certificate.downstream_checked
    assert certificate.certified.tolist() == [True, False]
    assert certificate.exact.tolist() == [True, False]
    assert certificate.max_equality_error[1] > 1e-4
    assert certificate.downstream_error[0] < 1e-4
    assert certificate.class_preserved[0]
    assert certificate.predicted[0] == activations(target[None])[-1].argmax()
    # Pushing a negative unit above zero is flagged too.
    negative = int(poly.negative_units[0])
    lifted = corner + 10.0 * weights[:, negative]
    assert lp_corners.certify(poly, None, None, lifted).max_negative_preact[0] > 0.0
    assert not lp_corners.certify(poly, None, None, lifted).exact[0]
    # A wrong expected class fails certification even for an exact point.
    wrong = int(np.argmin(activations(target[None])[-1]))
    assert not lp_corners.certify(poly, None, None, corner, target_class=wrong, **checks).certified[
        0
    ]


def test_rank_and_pixel_ranges_by_hand() -> None:
    # Unit 1 = 2 * unit 0 (both positive at the target): the equalities have rank 1.
    w0 = np.array([1.0, 1.0, 0.0])
    weights = np.stack([w0, 2 * w0, np.array([0.0, 0.0, 1.0])], axis=1)
    bias = np.array([0.0, 0.0, -2.0])
    target = np.array([0.2, 0.3, 0.5])
    preact = target @ weights + bias  # [0.5, 1.0, -1.5]
    poly = lp_corners.CollisionPolytope.from_layer(weights, bias, preact)
    assert lp_corners.positive_rank(poly) == 1
    assert lp_corners.positive_rank(weights, preact) == 1
    assert poly.n_inputs - lp_corners.positive_rank(poly) == 2
    # x0 + x1 = 0.5 with x in [0, 1]^3 and x2 <= 2 (always): x0 in [0, 0.5], x2 free.
    first = lp_corners.pixel_range(poly, 0)
    assert (first.low, first.high) == (pytest.approx(0.0), pytest.approx(0.5))
    free = lp_corners.pixel_range(poly, 2)
    assert (free.low, free.high) == (pytest.approx(0.0), pytest.approx(1.0))
    assert lp_corners.positive_rank(np.eye(3), -np.ones(3)) == 0  # no positive unit
    with pytest.raises(ValueError, match="not one of the target's negative units"):
        lp_corners.lp_corner(poly, unit=0)
    with pytest.raises(ValueError, match="out of range"):
        lp_corners.pixel_range(poly, 3)


def test_bad_shapes_are_value_errors() -> None:
    with pytest.raises(ValueError, match="do not describe one layer"):
        lp_corners.CollisionPolytope.from_layer(np.ones((3, 2)), np.ones(3), np.ones(2))
    with pytest.raises(ValueError, match="finite"):
        lp_corners.CollisionPolytope.from_layer(np.ones((3, 2)), np.ones(2), np.array([1, np.nan]))

"""The batched L-BFGS attack and its solver on small real inputs (tiny MNIST models)."""

import numpy as np
import pytest
import tensorflow as tf
from szegedy_data import attack_settings, correct_test_images, trained

from fooled.attacks import lbfgs
from fooled.attacks.box_lbfgs import BoxLBFGS
from fooled.models.handle import ModelHandle


@pytest.fixture(scope="module")
def fc10():
    result = trained("fc10", 1e-4)
    return ModelHandle(result.model), result.model


@pytest.fixture(scope="module")
def sigmoid():
    result = trained("fc100-100-10", [1e-5, 1e-5, 1e-6])
    return ModelHandle(result.model), result.model


def _targets(labels):
    return lbfgs.random_targets(labels, 10, seed=3)


# ----------------------------------------------------------------------------- formulas


def test_distortion_is_root_mean_square_pixel_change():
    original = np.zeros((2, 28, 28), np.float32)
    adversarial = original.copy()
    adversarial[0, 0, :4] = 0.5  # sum of squares 1.0 over 784 pixels
    adversarial[1] = 0.1
    np.testing.assert_allclose(
        lbfgs.distortion(adversarial, original), [np.sqrt(1.0 / 784), 0.1], rtol=1e-6
    )


def test_random_targets_are_seeded_and_never_the_true_label():
    labels = np.tile(np.arange(10), 300)
    targets = lbfgs.random_targets(labels, 10, seed=1)
    assert (targets != labels).all()
    np.testing.assert_array_equal(targets, lbfgs.random_targets(labels, 10, seed=1))
    assert not np.array_equal(targets, lbfgs.random_targets(labels, 10, seed=2))
    # Uniform over the nine other labels: every offset appears about equally often.
    offsets = np.bincount((targets - labels) % 10, minlength=10)
    assert offsets[0] == 0 and offsets[1:].min() > 0.7 * offsets[1:].mean()
    with pytest.raises(ValueError, match="labels must lie in 0..9"):
        lbfgs.random_targets(np.array([10]), 10, seed=0)


# ----------------------------------------------------------------------------- the attack


def test_attack_reaches_targets_inside_the_box(sigmoid):
    handle, model = sigmoid
    x, y = correct_test_images(model, 12)
    targets = _targets(y)
    result = lbfgs.LBFGSAttack(attack_settings()).run(handle, x.reshape(-1, 28, 28), targets)
    assert result.adversarial.shape == (12, 28, 28)
    assert result.success.mean() >= 0.9
    # The box constraint: no pixel leaves [0, 1].
    assert result.adversarial.min() >= 0.0 and result.adversarial.max() <= 1.0
    # Success means the model says the target; the distortion is the formula's.
    predicted = handle.logits_numpy(result.adversarial).argmax(axis=1)
    np.testing.assert_array_equal(predicted[result.success], targets[result.success])
    np.testing.assert_allclose(
        result.distortion[result.success],
        lbfgs.distortion(result.adversarial, x)[result.success],
        rtol=1e-5,
    )
    assert np.isnan(result.distortion[~result.success]).all()
    assert (result.solves >= 1).all() and (result.iterations >= result.solves).all()
    assert 0.0 < result.mean_distortion() < 0.3


def test_c_search_finds_smaller_distortion_than_a_fixed_c(fc10):
    handle, model = fc10
    x, y = correct_test_images(model, 10)
    targets = _targets(y)
    fixed = lbfgs.LBFGSAttack(attack_settings(search_steps=1, c_initial=1.0)).run(
        handle, x, targets
    )
    searched = lbfgs.LBFGSAttack(attack_settings(search_steps=6, c_initial=1.0)).run(
        handle, x, targets
    )
    both = fixed.success & searched.success
    assert both.sum() >= 8
    # Never worse (the first solve is the fixed one), and smaller on average by far.
    assert (searched.distortion[both] <= fixed.distortion[both] + 1e-6).all()
    assert searched.distortion[both].mean() < 0.8 * fixed.distortion[both].mean()
    assert (searched.c[both] >= 1.0).all()


def test_each_image_is_solved_independently_of_its_batch(fc10):
    handle, model = fc10
    x, y = correct_test_images(model, 6)
    targets = _targets(y)
    alone = lbfgs.LBFGSAttack(attack_settings(batch_size=1)).run(handle, x, targets)
    together = lbfgs.LBFGSAttack(attack_settings(batch_size=6)).run(handle, x, targets)
    np.testing.assert_array_equal(alone.success, together.success)
    np.testing.assert_allclose(alone.distortion, together.distortion, rtol=1e-3)


def test_batched_solver_matches_scipy_lbfgsb(fc10):
    handle, model = fc10
    x, y = correct_test_images(model, 4)
    targets = _targets(y)
    batched = lbfgs.LBFGSAttack(attack_settings(search_steps=3)).run(handle, x, targets)
    scipy_result = lbfgs.LBFGSAttack(
        attack_settings(search_steps=3, solver="scipy", batch_size=1)
    ).run(handle, x, targets)
    np.testing.assert_array_equal(batched.success, scipy_result.success)
    np.testing.assert_allclose(batched.distortion, scipy_result.distortion, rtol=0.02)


def test_penalty_term_changes_the_examples(fc10):
    handle, model = fc10
    x, y = correct_test_images(model, 4)
    targets = _targets(y)
    plain = lbfgs.LBFGSAttack(attack_settings(search_steps=2)).run(handle, x, targets)

    def brightness(batch: tf.Tensor) -> tf.Tensor:
        return tf.reduce_mean(batch, axis=1)

    darker = lbfgs.LBFGSAttack(attack_settings(search_steps=2, penalty_weight=20.0), brightness)
    penalised = darker.run(handle, x, targets)
    assert penalised.adversarial.mean() < plain.adversarial.mean() - 1e-3


@pytest.mark.parametrize(
    ("images", "targets", "message"),
    [
        (np.zeros((0, 784), np.float32), np.zeros(0, np.int64), "no images to attack"),
        (np.zeros((2, 784), np.float32), np.array([1, 10]), "target label 10 is outside"),
        (np.full((1, 784), 1.5, np.float32), np.array([1]), r"pixels in \[0, 1\]"),
        (np.zeros((2, 784), np.float32), np.array([1]), "2 images but 1 target labels"),
        (np.zeros((1, 100), np.float32), np.array([1]), "100 pixels, the model takes 784"),
    ],
)
def test_one_line_errors(fc10, images, targets, message):
    handle, _ = fc10
    with pytest.raises(ValueError, match=message) as error:
        lbfgs.LBFGSAttack(attack_settings()).run(handle, images, targets)
    assert "\n" not in str(error.value)


def test_settings_come_from_the_schema_and_are_checked():
    settings = attack_settings()
    assert settings.solver == "batched" and settings.c_min <= settings.c_initial
    with pytest.raises(ValueError, match="solver 'newton'"):
        attack_settings(solver="newton")
    with pytest.raises(ValueError, match="c_factor must exceed 1"):
        attack_settings(c_factor=1.0)
    with pytest.raises(ValueError, match="settings lack c_factor, .*memory"):
        lbfgs.LBFGSSettings.from_config({"c_initial": 1.0})


# ----------------------------------------------------------------------------- the solver


def _quadratic(x, centre, weight):
    difference = x - centre
    return tf.reduce_sum(weight * difference**2, axis=1), 2.0 * weight * difference


def test_box_lbfgs_solves_separable_problems_to_the_clipped_minimum():
    rng = np.random.default_rng(0)
    centre = rng.uniform(-0.5, 1.5, (5, 30)).astype(np.float32)
    weight = rng.uniform(0.1, 10.0, (5, 30)).astype(np.float32)
    solver = BoxLBFGS(_quadratic, memory=5, max_iterations=200, jit_compile=False)
    x, iterations = solver.minimise(
        np.full((5, 30), 0.5, np.float32), tf.constant(centre), tf.constant(weight)
    )
    np.testing.assert_allclose(x, np.clip(centre, 0.0, 1.0), atol=5e-4)  # float32 objective
    assert (iterations >= 1).all() and (iterations < 200).all()
    # One problem alone ends where it ends in the batch.
    alone, _ = solver.minimise(
        np.full((1, 30), 0.5, np.float32), tf.constant(centre[2:3]), tf.constant(weight[2:3])
    )
    np.testing.assert_allclose(alone[0], x[2], atol=1e-6)

"""psgn, nsgn, L_pos and L_neg^i against values computed by hand with NumPy."""

import numpy as np
import pytest
import tensorflow as tf

from fooled.attacks import collision_losses

TARGET = np.array([1.5, 0.0, -2.0, 3.0, -0.5, -1.0], np.float32)
CANDIDATES = np.array(
    [
        [1.0, 0.5, -1.0, 3.0, 0.25, -3.0],
        [1.5, 0.0, -2.0, 3.0, -0.5, -1.0],  # the target itself
    ],
    np.float32,
)


def test_psgn_counts_zero_as_positive_and_nsgn_is_minus_one_below_zero():
    np.testing.assert_array_equal(collision_losses.psgn(tf.constant(TARGET)), [1, 1, 0, 1, 0, 0])
    np.testing.assert_array_equal(collision_losses.nsgn(tf.constant(TARGET)), [0, 0, -1, 0, -1, -1])


def test_loss_pos_by_hand():
    # active units 0, 1, 3: (1.0-1.5)^2 + (0.5-0)^2 + (3-3)^2 = 0.25 + 0.25 = 0.5
    values = collision_losses.loss_pos(tf.constant(CANDIDATES), tf.constant(TARGET)).numpy()
    np.testing.assert_allclose(values, [0.5, 0.0], atol=1e-6)


@pytest.mark.parametrize(
    ("unit", "expected_first"),
    [
        # negative units 2, 4, 5 with candidate values -1, 0.25, -3:
        # i = 2: f0_i + |f0_4| + |f0_5| = -1 + 0.25 + 3 = 2.25
        (2, 2.25),
        # i = 4: 0.25 + 1 + 3 = 4.25
        (4, 4.25),
        # i = 5: -3 + 1 + 0.25 = -1.75
        (5, -1.75),
    ],
)
def test_loss_neg_by_hand(unit, expected_first):
    units = tf.constant([unit, unit], tf.int32)
    values = collision_losses.loss_neg(tf.constant(CANDIDATES), tf.constant(TARGET), units).numpy()
    signed = CANDIDATES[1] * np.where(TARGET < 0, -1.0, 0.0)
    others = [j for j in (2, 4, 5) if j != unit]
    expected_target_row = -signed[unit] + np.abs(signed[others]).sum()
    np.testing.assert_allclose(values, [expected_first, expected_target_row], atol=1e-6)


def test_loss_neg_ignores_positive_units():
    moved = CANDIDATES.copy()
    moved[:, [0, 1, 3]] += 100.0
    units = tf.constant([2, 2], tf.int32)
    before = collision_losses.loss_neg(tf.constant(CANDIDATES), tf.constant(TARGET), units).numpy()
    after = collision_losses.loss_neg(tf.constant(moved), tf.constant(TARGET), units).numpy()
    np.testing.assert_allclose(before, after)


def test_negative_units_picks_the_first_ones_and_refuses_too_many():
    assert collision_losses.negative_units(TARGET, 2) == [2, 4]
    with pytest.raises(ValueError, match="only 3 negative units"):
        collision_losses.negative_units(TARGET, 4)

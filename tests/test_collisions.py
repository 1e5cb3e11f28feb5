"""The compiled corner finder on a small real ReLU layer."""

import numpy as np
import pytest
import tensorflow as tf

from fooled.attacks import collision_losses
from fooled.attacks import corners as collisions
from fooled.core.config import schema_defaults


def _settings(**overrides):
    """The MNIST study's micro defaults with the test's overrides."""
    defaults = schema_defaults("studies/collisions_mnist.schema.yaml", "defaults", "micro")
    return collisions.CornerSettings.from_config(defaults | overrides)


@pytest.fixture(scope="module")
def layer():
    rng = np.random.default_rng(0)
    weights = tf.constant(rng.normal(0, 0.5, size=(16, 12)).astype(np.float32))
    bias = tf.constant(rng.normal(0, 0.1, size=12).astype(np.float32))

    def preact(x):
        return tf.matmul(x, weights) + bias

    target = rng.uniform(0, 1, size=(1, 16)).astype(np.float32)
    seed = rng.uniform(0, 1, size=16).astype(np.float32)
    preact_target = preact(tf.constant(target)).numpy()[0]
    return preact, seed, preact_target


@pytest.mark.exactness
def test_corners_converge_stay_in_the_box_and_are_reproducible(layer):
    preact, seed, preact_target = layer
    units = collision_losses.negative_units(preact_target, 3)
    settings = _settings(learning_rate=0.01, w_pos=10.0, threshold=0.05)
    finder = collisions.MicroCollisionFinder(preact)
    result = finder.find(seed, preact_target, units, settings)
    assert result.corners.shape == (3, 16)
    assert result.converged.all()
    assert (result.corners >= 0).all() and (result.corners <= 1).all()
    assert result.loss_pos.shape == (result.steps_run + 1, 3)
    assert (result.loss_pos[-1] < settings.threshold).all()
    # Each corner stops at its own first crossing: its step is recorded and its trace flat after.
    for corner, step in enumerate(result.converged_step):
        assert result.loss_pos[step, corner] < settings.threshold
        assert step == 0 or result.loss_pos[step - 1, corner] >= settings.threshold
        np.testing.assert_array_equal(result.loss_pos[step:, corner], result.loss_pos[step, corner])
    again = finder.find(seed, preact_target, units, settings)
    np.testing.assert_array_equal(result.corners, again.corners)
    # Different negative units lead to different corners.
    assert np.abs(result.corners[0] - result.corners[1]).max() > 1e-4


def test_unreachable_threshold_stops_at_the_step_limit(layer):
    preact, seed, preact_target = layer
    units = collision_losses.negative_units(preact_target, 2)
    settings = _settings(learning_rate=0.01, w_pos=1.0, threshold=1e-12, max_steps=7)
    result = collisions.MicroCollisionFinder(preact).find(seed, preact_target, units, settings)
    assert result.steps_run == 7
    assert not result.converged.any()
    np.testing.assert_array_equal(result.converged_step, [-1, -1])
    assert result.loss_pos.shape == (8, 2)


def test_adam_also_reduces_l_pos(layer):
    preact, seed, preact_target = layer
    units = collision_losses.negative_units(preact_target, 2)
    settings = _settings(
        optimizer="adam", learning_rate=0.05, w_pos=3.0, threshold=1e-2, max_steps=3000
    )
    result = collisions.MicroCollisionFinder(preact).find(seed, preact_target, units, settings)
    assert result.loss_pos[-1].max() < result.loss_pos[0].min()


def test_unknown_optimizer_is_refused():
    with pytest.raises(ValueError, match="optimizer 'lbfgs'"):
        _settings(optimizer="lbfgs")
    with pytest.raises(ValueError, match="lack n_corners"):
        collisions.CornerSettings.from_config({"optimizer": "sgd"})


def test_flipped_units_counts_non_positive_target_units_that_became_positive():
    target = np.array([1.0, 0.0, -1.0, -2.0])
    corners = np.array([[5.0, 0.1, -0.5, 0.3], [0.0, -1.0, -3.0, -2.0]])
    np.testing.assert_array_equal(collisions.flipped_units(corners, target), [2, 0])


def test_gradient_corners_attack_on_a_keras_model():
    """The attack object drives any Keras model through a ModelHandle at one ReLU layer."""
    import keras

    from fooled.models.handle import ModelHandle

    keras.utils.set_random_seed(0)
    inputs = keras.Input((16,))
    hidden = keras.layers.Dense(12, name="fc1")(inputs)
    hidden = keras.layers.ReLU()(hidden)
    outputs = keras.layers.Softmax()(keras.layers.Dense(3)(hidden))
    model = ModelHandle(keras.Model(inputs, outputs), "fc1")
    rng = np.random.default_rng(1)
    seed, target = rng.uniform(0, 1, (2, 16)).astype(np.float32)
    attack = collisions.GradientCorners(
        _settings(n_corners=2, learning_rate=0.05, w_pos=10.0, threshold=0.05)
    )
    collision = attack.run(model, seed, target)
    assert collision.corners.shape == (2, 16)
    assert (collision.corners >= 0).all() and (collision.corners <= 1).all()
    np.testing.assert_allclose(collision.target.preact, model.preact_numpy(target[None])[0])
    assert collision.target.units == collision_losses.negative_units(collision.target.preact, 2)
    np.testing.assert_allclose(collision.preact_corners, model.preact_numpy(collision.corners))
    assert collision.corner_probabilities.shape == (2, 3)
    datasets = collisions.corner_datasets(seed, target, collision)
    assert datasets["corner_classes"].tolist() == collision.corner_probabilities.argmax(1).tolist()
    assert datasets["negative_units"].tolist() == collision.target.units


def test_a_max_pooling_model_falls_back_from_xla_under_op_determinism():
    """XLA has no deterministic gradient of max pooling: the finder runs TensorFlow's own
    kernels for such a model (the LeNet, a user's CNN) and finds the same kind of corners."""
    import keras

    from fooled.models.handle import ModelHandle
    from fooled.models.runtime import make_deterministic

    make_deterministic(0)
    inputs = keras.Input((8, 8, 1))
    hidden = keras.layers.Conv2D(3, 3, activation="relu")(inputs)
    hidden = keras.layers.MaxPooling2D(2)(hidden)
    hidden = keras.layers.Dense(12, name="fc", bias_initializer=keras.initializers.Constant(0.3))(
        keras.layers.Flatten()(hidden)
    )
    hidden = keras.layers.ReLU()(hidden)
    handle = ModelHandle(keras.Model(inputs, keras.layers.Dense(3)(hidden)), layer="fc")
    rng = np.random.default_rng(1)
    seed, target = rng.uniform(0, 1, (2, 64)).astype(np.float32)
    preact_target = handle.preact_numpy(target[None])[0]
    units = collision_losses.negative_units(preact_target, 2)
    settings = _settings(learning_rate=0.05, w_pos=10.0, threshold=0.05, max_steps=400)
    finder = collisions.MicroCollisionFinder(handle.preact)
    result = finder.find(seed, preact_target, units, settings)
    assert not finder.jit_compile
    assert result.corners.shape == (2, 64) and result.converged.all()
    assert result.loss_pos[0].min() > settings.threshold  # the seed did not collide
    again = finder.find(seed, preact_target, units, settings)
    np.testing.assert_array_equal(result.corners, again.corners)

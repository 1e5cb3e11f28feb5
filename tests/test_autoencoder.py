"""The autoencoder: shapes, the per-image error against Keras's loss, determinism, gradients."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from defences_helpers import pixels

from fooled.models.autoencoder import (
    AutoencoderSettings,
    ReconstructionError,
    build_autoencoder,
    per_image_error,
    train_autoencoder,
)


def _settings(**changes) -> AutoencoderSettings:
    base = {
        "architecture": "dense",
        "hidden_units": [32],
        "loss": "bce",
        "learning_rate": 0.003,
        "epochs": 1,
        "batch_size": 64,
        "seed": 0,
        "max_train_samples": 1024,
    }
    return AutoencoderSettings.from_config(base | changes)


@pytest.fixture(scope="module")
def trained():
    images, _ = pixels("train", 1200)
    return train_autoencoder(images, _settings(), validation=images[1024:])


def test_architectures_map_784_pixels_to_784():
    dense = build_autoencoder("dense", (128, 64, 32))
    assert [layer.units for layer in dense.layers[1:]] == [128, 64, 32, 64, 128, 784]
    conv = build_autoencoder("conv", (16, 8))
    x = np.random.default_rng(0).uniform(size=(3, 784)).astype(np.float32)
    for model in (dense, conv):
        out = np.asarray(model(x))
        assert out.shape == (3, 784) and out.min() > 0 and out.max() < 1
    with pytest.raises(ValueError, match="one or two levels"):
        _settings(architecture="conv", hidden_units=[8, 8, 8])
    with pytest.raises(ValueError, match="loss"):
        _settings(loss="l1")


def test_per_image_error_is_the_training_loss_of_each_image():
    rng = np.random.default_rng(1)
    x = rng.uniform(size=(5, 784)).astype(np.float32)
    r = rng.uniform(0.01, 0.99, size=(5, 784)).astype(np.float32)
    bce = per_image_error("bce", tf.constant(x), tf.constant(r)).numpy()
    np.testing.assert_allclose(bce, keras.losses.binary_crossentropy(x, r).numpy(), rtol=1e-5)
    hand = -(x * np.log(r) + (1 - x) * np.log(1 - r)).mean(axis=1)
    np.testing.assert_allclose(bce, hand, rtol=1e-5)
    mse = per_image_error("mse", tf.constant(x), tf.constant(r)).numpy()
    np.testing.assert_allclose(mse, ((x - r) ** 2).mean(axis=1), rtol=1e-5)


@pytest.mark.exactness
def test_training_lowers_the_error_and_is_deterministic(trained):
    images, _ = pixels("train", 1200)
    assert trained.history["loss"].shape == (1,) and "val_loss" in trained.history
    untrained = ReconstructionError(build_autoencoder("dense", (32,)), "bce").numpy(images[1024:])
    score = ReconstructionError(trained.model, "bce")
    errors = score.numpy(images[1024:])
    assert errors.shape == (176,) and errors.mean() < 0.5 * untrained.mean()
    # the Keras loss on the held-out images is the mean of the per-image errors
    assert float(errors.mean()) == pytest.approx(trained.history["val_loss"][-1], rel=1e-3)
    again = train_autoencoder(images, _settings())
    for a, b in zip(trained.model.get_weights(), again.model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_numpy_and_tensorflow_errors_agree_and_differentiate(trained):
    images, _ = pixels("test", 50)
    score = ReconstructionError(trained.model, "bce")
    np.testing.assert_allclose(score.numpy(images), score.numpy(images, batch_size=7), rtol=1e-6)
    x = tf.constant(images.reshape(50, -1))
    with tf.GradientTape() as tape:
        tape.watch(x)
        values = score(x)
        total = tf.reduce_sum(values)
    np.testing.assert_allclose(values.numpy(), score.numpy(images), rtol=1e-5)
    gradient = tape.gradient(total, x).numpy()
    assert np.isfinite(gradient).all() and np.abs(gradient).sum(axis=1).min() > 0
    noise = np.random.default_rng(0).uniform(size=(50, 28, 28)).astype(np.float32)
    assert score.numpy(noise).min() > score.numpy(images).max()

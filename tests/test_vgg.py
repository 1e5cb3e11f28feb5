"""VGG-16 and the one model handle (ModelHandle), with random weights on small inputs."""

import io

import keras
import numpy as np
import pytest
import tensorflow as tf

from fooled.attacks import composites
from fooled.attacks import corners as collisions
from fooled.core.config import schema_defaults
from fooled.models import vgg16
from fooled.models.handle import VGG_MEANS_BGR, ModelHandle, preprocess_fn

SIZE = 32  # VGG-16 with a 32x32 input: the same layers, a 512-value flatten


@pytest.fixture(autouse=True)
def _without_op_determinism():
    """Run as collide_imagenet does: without TensorFlow's process-wide op determinism.

    XLA has no deterministic MaxPool gradient, so the ImageNet scripts leave the mode off;
    an earlier test in the same pytest process (any MNIST stage) may have switched it on.
    """
    from tensorflow.python.framework import config as tf_config

    enabled = tf_config.is_op_determinism_enabled()
    tf_config.disable_op_determinism()
    yield
    if enabled:
        tf_config.enable_op_determinism()


@pytest.fixture(scope="module")
def model():
    return vgg16.build_model("vgg16", "random", input_size=SIZE, seed=3)


def test_random_weights_are_seeded(model):
    again = vgg16.build_model("vgg16", "random", input_size=SIZE, seed=3)
    other = vgg16.build_model("vgg16", "random", input_size=SIZE, seed=4)
    a, b, c = (m.get_layer("fc1").get_weights()[0] for m in (model, again, other))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_fc1_preactivation_is_flatten_times_kernel_plus_bias(model):
    handle = ModelHandle(model, "fc1", "vgg16")
    assert handle.n_units == 4096
    x = np.random.default_rng(0).uniform(0, 255, (2, SIZE, SIZE, 3)).astype(np.float32)
    flatten = keras.Model(model.input, model.get_layer("flatten").output)
    kernel, bias = model.get_layer("fc1").get_weights()
    bgr = x[..., ::-1] - np.array(VGG_MEANS_BGR, np.float32)
    expected = np.asarray(flatten(bgr)) @ kernel + bias
    preact = handle.preact_numpy(x)
    np.testing.assert_allclose(preact, expected, rtol=1e-4, atol=1e-3 * np.abs(expected).max())
    assert (preact < 0).any()  # a pre-activation, not the ReLU output
    post = keras.Model(model.input, model.get_layer("fc1").output)(bgr)
    np.testing.assert_allclose(np.maximum(preact, 0), post, atol=1e-3 * np.abs(expected).max())
    probabilities = handle.probabilities_numpy(x)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, atol=1e-5)


def test_any_keras_model_and_relu_layer(tmp_path):
    inputs = keras.Input((8, 8, 3))
    hidden = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)
    hidden = keras.layers.Flatten()(hidden)
    hidden = keras.layers.Dense(6, name="dense")(hidden)
    hidden = keras.layers.ReLU(name="dense_relu")(hidden)
    outputs = keras.layers.Dense(3, activation="softmax", name="out")(hidden)
    path = tmp_path / "own.keras"
    keras.Model(inputs, outputs).save(path)
    model = vgg16.build_model("file", "file", model_file=path)
    x = np.random.default_rng(1).uniform(0, 255, (2, 8, 8, 3)).astype(np.float32)
    conv = ModelHandle(model, "conv", "scale01")
    assert conv.n_units == 6 * 6 * 4 and (conv.preact_numpy(x) < 0).any()
    relu = ModelHandle(model, "dense_relu", "scale01")
    dense = ModelHandle(model, "dense", "scale01")
    np.testing.assert_allclose(relu.preact_numpy(x), dense.preact_numpy(x), rtol=1e-6)
    with pytest.raises(ValueError, match="no ReLU"):
        ModelHandle(model, "out", "none")
    with pytest.raises(ValueError, match="not in model"):
        ModelHandle(model, "fc9", "none")
    assert vgg16.weights_label("file", path).startswith("file:")


@pytest.mark.slow
def test_micro_and_macro_attacks_run_on_vgg(model):
    handle = ModelHandle(model, "fc1", "vgg16")
    rng = np.random.default_rng(2)
    seed, target = rng.uniform(0, 255, (2, SIZE, SIZE, 3)).astype(np.float32)
    defaults = schema_defaults("studies/collisions_imagenet.schema.yaml", "defaults")
    micro_settings = collisions.CornerSettings.from_config(
        defaults["micro"] | {"n_corners": 2, "max_steps": 3, "threshold": 1e-9}
    )
    micro = collisions.GradientCorners(micro_settings, 0.0, 255.0).run(handle, seed, target)
    trace = micro.trace
    assert trace.steps_run == 3 and trace.loss_pos[-1].mean() < trace.loss_pos[0].mean()
    assert micro.corners.shape == (2, SIZE, SIZE, 3)
    sources = rng.uniform(0, 255, (4, SIZE, SIZE, 3)).astype(np.float32)
    weights = np.full((4, SIZE, SIZE), 0.25)
    settings = composites.MacroSettings.from_config(
        defaults["macro"]
        | {"n_corners": 2, "max_steps": 4, "chunk_steps": 2, "checkpoint_every": 0}
    )
    collision = composites.MacroComposites(settings).run(
        handle, composites.Sources(sources, weights), target
    )
    assert collision.corners.shape == (2, SIZE, SIZE, 3)
    assert np.isfinite(collision.trace.loss_pos).all()
    assert collision.corners.min() >= sources.min(axis=0).min() - 1e-3
    assert collision.target.units == micro.target.units


def test_logits_and_probabilities_of_the_handle(model):
    handle = ModelHandle(model, None, "vgg16")
    x = np.random.default_rng(4).uniform(0, 255, (2, SIZE, SIZE, 3)).astype(np.float32)
    logits = handle.logits_numpy(x)
    probabilities = handle.probabilities_numpy(x)
    np.testing.assert_allclose(probabilities, tf.nn.softmax(logits).numpy(), rtol=1e-4, atol=1e-7)
    assert handle.outputs_probabilities and handle.n_classes == 1000
    with pytest.raises(ValueError, match="no layer"):
        handle.preact_numpy(x)


class _Response(io.BytesIO):
    def __enter__(self):
        return self

    def __exit__(self, *args):
        return False


def test_weights_download_checks_md5(tmp_path):
    payload = b"not really weights"
    import hashlib

    good = hashlib.md5(payload, usedforsecurity=False).hexdigest()
    record = vgg16.download_weights(
        "https://example.invalid/w.h5",
        tmp_path / "w.h5",
        good,
        opener=lambda *a, **k: _Response(payload),
    )
    assert record["md5"] == good and len(record["sha256"]) == 64
    with pytest.raises(ValueError, match="MD5"):
        vgg16.download_weights(
            "https://example.invalid/w.h5",
            tmp_path / "x.h5",
            "0" * 32,
            opener=lambda *a, **k: _Response(payload),
        )
    assert not (tmp_path / "x.h5").exists()
    assert preprocess_fn("scale01")(tf.constant([255.0])).numpy()[0] == 1.0

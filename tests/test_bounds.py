"""Lipschitz bounds: operator norms against brute force, and bounds against measured ratios."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from fooled.studies.szegedy import bounds


def _operator_matrix(apply, shape):
    """The matrix of a linear map on arrays of ``shape``, one basis vector at a time."""
    size = int(np.prod(shape))
    columns = [apply(np.eye(size)[k].reshape(shape)).reshape(-1) for k in range(size)]
    return np.stack(columns, axis=1)


def _largest_singular_value(matrix):
    return float(np.sqrt(np.linalg.eigvalsh(matrix.T @ matrix)[-1]))


def test_dense_bound_is_the_spectral_norm():
    rng = np.random.default_rng(0)
    for shape in [(7, 3), (20, 30), (1, 5)]:
        kernel = rng.normal(size=shape)
        expected = _largest_singular_value(kernel)
        assert bounds.dense_bound(kernel) == pytest.approx(expected, rel=1e-10)
        # No vector is stretched more (brute force over random directions).
        vectors = rng.normal(size=(2000, shape[0]))
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        assert np.linalg.norm(vectors @ kernel, axis=1).max() <= expected + 1e-9


def test_dense_bound_uses_lanczos_on_large_matrices_with_the_same_result(monkeypatch):
    kernel = np.random.default_rng(1).normal(size=(60, 40))
    exact = bounds.dense_bound(kernel)
    monkeypatch.setattr(bounds, "DENSE_LAPACK_LIMIT", 10)
    assert bounds.dense_bound(kernel) == pytest.approx(exact, rel=1e-8)


def test_lanczos_gives_the_same_bits_every_time(monkeypatch):
    # ARPACK starts from a random vector unless given one: the bound's last bits then varied
    # between two runs of the same job (seen as a local and a SLURM run disagreeing).
    kernel = np.random.default_rng(2).normal(size=(300, 200))
    monkeypatch.setattr(bounds, "DENSE_LAPACK_LIMIT", 10)
    values = {bounds.dense_bound(kernel) for _ in range(8)}
    assert len(values) == 1, values


def _conv_same(kernel, image):
    x = tf.constant(image[None], tf.float64)
    return tf.nn.conv2d(x, tf.constant(kernel, tf.float64), 1, "SAME").numpy()[0]


def _conv_circular(kernel, image, grid):
    """Cross-correlation with wrap-around on a ``grid``-sized zero-embedded image."""
    padded = np.zeros((*grid, image.shape[2]))
    padded[: image.shape[0], : image.shape[1]] = image
    k1, k2, _, c_out = kernel.shape
    out = np.zeros((*grid, c_out))
    for a in range(k1):
        for b in range(k2):
            shifted = np.roll(padded, (-a, -b), axis=(0, 1))
            out += shifted @ kernel[a, b]
    return out


@pytest.mark.parametrize(("size", "kernel_shape"), [((5, 6), (3, 3, 2, 3)), ((4, 4), (2, 3, 1, 2))])
def test_conv_bound_is_the_circular_norm_and_bounds_the_padded_convolution(
    size, kernel_shape, monkeypatch
):
    rng = np.random.default_rng(2)
    kernel = rng.normal(size=kernel_shape)
    value = bounds.conv_bound(kernel, size)
    monkeypatch.setattr(bounds, "CHUNK_ENTRIES", 7)  # a few frequencies per chunk: same value
    assert bounds.conv_bound(kernel, size) == pytest.approx(value, rel=1e-12)
    grid = (size[0] + kernel_shape[0] - 1, size[1] + kernel_shape[1] - 1)
    shape = (*grid, kernel_shape[2])
    circular = _operator_matrix(lambda image: _conv_circular(kernel, image, grid), shape)
    assert value == pytest.approx(_largest_singular_value(circular), rel=1e-9)
    same = _operator_matrix(lambda image: _conv_same(kernel, image), (*size, kernel_shape[2]))
    assert _largest_singular_value(same) <= value * (1 + 1e-9)


def _mlp(activation: str) -> keras.Model:
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(12,))
    hidden = keras.layers.Dense(8, activation=activation, name="fc1")(inputs)
    logits = keras.layers.Dense(3, name="logits")(hidden)
    return keras.Model(inputs, keras.layers.Softmax()(logits))


def test_network_bound_multiplies_layers_and_bounds_measured_ratios():
    for activation, factor in (("sigmoid", 0.25), ("relu", 1.0)):
        model = _mlp(activation)
        rows = bounds.layer_bounds(model)
        assert [row.name for row in rows] == ["fc1", "logits"]
        assert rows[0].activation == factor
        weights = [model.get_layer(name).get_weights()[0] for name in ("fc1", "logits")]
        expected = factor * np.prod(
            [_largest_singular_value(w.astype(np.float64)) for w in weights]
        )
        assert bounds.network_bound(rows) == pytest.approx(expected, rel=1e-6)
        logits = keras.Model(model.inputs[0], model.get_layer("logits").output)
        rng = np.random.default_rng(3)
        x = rng.uniform(0, 1, (200, 12)).astype(np.float32)
        r = rng.normal(0, 0.05, (200, 12)).astype(np.float32)
        ratios = bounds.local_ratios(logits(x).numpy(), logits(x + r).numpy(), x, x + r)
        assert np.nanmax(ratios) <= bounds.network_bound(rows) * (1 + 1e-5)


def test_convolutional_network_bound_and_refusals():
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(8, 8, 2))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv")(inputs)
    x = keras.layers.MaxPooling2D(2, name="pool")(x)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(3, activation="softmax", name="predictions")(x)
    model = keras.Model(inputs, outputs)
    rows = bounds.layer_bounds(model)
    assert [row.kind for row in rows] == ["conv", "maxpool", "dense"]
    assert rows[0].size == "2x3x3x4" and rows[0].stride == 1
    rng = np.random.default_rng(4)
    x = rng.uniform(0, 1, (100, 8, 8, 2)).astype(np.float32)
    r = rng.normal(0, 0.01, x.shape).astype(np.float32)
    # The softmax is inside the last Dense here: compare on the pre-softmax values.
    dense = model.get_layer("predictions")
    kernel, bias = dense.get_weights()
    features = keras.Model(model.inputs[0], model.layers[-2].output)
    before = features(x).numpy() @ kernel + bias
    after = features(x + r).numpy() @ kernel + bias
    ratios = bounds.local_ratios(before, after, x, x + r)
    assert np.nanmax(ratios) <= bounds.network_bound(rows) * (1 + 1e-5)

    inputs = keras.Input(shape=(6, 6, 1))
    y = keras.layers.AveragePooling2D(2, name="average")(inputs)
    odd = keras.Model(inputs, keras.layers.Flatten()(y))
    with pytest.raises(ValueError, match="'average' .AveragePooling2D. has no Lipschitz bound"):
        bounds.layer_bounds(odd)

"""Small real inputs shared by the defences tests: MNIST subsets, a tiny trained MLP, artifacts.

MNIST comes from ``MNIST_MIRROR`` (a folder holding the four IDX ``.gz``
files), as in test_data.py; the tests are skipped when it is unset.
"""

from __future__ import annotations

import functools
import gzip
import os
from pathlib import Path

import numpy as np
import pytest

from fooled.core import h5io
from fooled.data.mnist import read_idx


@functools.cache
def _mnist_arrays(folder: str) -> dict[str, np.ndarray]:
    names = {
        "train/images": ("train-images-idx3-ubyte", (28, 28)),
        "train/labels": ("train-labels-idx1-ubyte", ()),
        "test/images": ("t10k-images-idx3-ubyte", (28, 28)),
        "test/labels": ("t10k-labels-idx1-ubyte", ()),
    }
    return {
        key: read_idx(gzip.decompress((Path(folder) / f"{name}.gz").read_bytes()), tail)
        for key, (name, tail) in names.items()
    }


def mnist_arrays() -> dict[str, np.ndarray]:
    """The whole of MNIST as uint8 arrays (``train/images`` ...), or skip the test."""
    folder = os.environ.get("MNIST_MIRROR", "").strip()
    if not folder or not Path(folder).is_dir():
        pytest.skip("MNIST_MIRROR is unset or not a folder (these tests need the MNIST .gz files)")
    return _mnist_arrays(folder)


def pixels(split: str, count: int, start: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``count`` images of a split as float32 (n, 28, 28) in [0, 1] and int64 labels."""
    arrays = mnist_arrays()
    images = arrays[f"{split}/images"][start : start + count].astype(np.float32) / 255.0
    return images, arrays[f"{split}/labels"][start : start + count].astype(np.int64)


def write_small_mnist(path: Path, n_train: int, n_test: int) -> Path:
    """An MNIST artifact of the workflow's layout holding the first images of each split."""
    arrays = mnist_arrays()
    subset = {
        "train/images": arrays["train/images"][:n_train],
        "train/labels": arrays["train/labels"][:n_train],
        "test/images": arrays["test/images"][:n_test],
        "test/labels": arrays["test/labels"][:n_test],
    }
    h5io.write_artifact(path, subset, h5io.provenance({"test": True}), {"source": "MNIST_MIRROR"})
    return path


@functools.cache
def _tiny_mlp_weights(n_train: int, epochs: int) -> list[np.ndarray]:
    model = _train_tiny(n_train, epochs)
    return model.get_weights()


def _train_tiny(n_train: int, epochs: int):
    import keras

    from fooled.models.mlp import mnist_mlp
    from fooled.models.runtime import make_deterministic

    images, labels = pixels("train", n_train)
    make_deterministic(0)
    model = mnist_mlp((64, 64))
    model.compile(keras.optimizers.Adam(0.003), keras.losses.SparseCategoricalCrossentropy())
    model.fit(images.reshape(len(images), -1), labels, batch_size=64, epochs=epochs, verbose=0)
    return model


def tiny_mlp(n_train: int = 3000, epochs: int = 3):
    """The project's MLP architecture, 784-64-64-10, trained briefly on real digits (cached)."""
    from fooled.models.mlp import mnist_mlp

    model = mnist_mlp((64, 64))
    model.set_weights(_tiny_mlp_weights(n_train, epochs))
    return model


def numpy_input_gradient(model, images: np.ndarray, labels: np.ndarray):
    """d cross-entropy / d pixels of the 784-64-64-10 ReLU MLP in float64 NumPy, written from
    the architecture (no TensorFlow), and the float32 softmax's true-class probabilities."""
    weights = [w.astype(np.float64) for w in model.model.get_weights()]
    x = images.reshape(len(images), -1).astype(np.float64)
    pre1 = x @ weights[0] + weights[1]
    h1 = np.maximum(pre1, 0)
    pre2 = h1 @ weights[2] + weights[3]
    h2 = np.maximum(pre2, 0)
    z = h2 @ weights[4] + weights[5]
    shifted = z - z.max(axis=1, keepdims=True)
    p = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    # softmax(z) - onehot(y), the true class's entry as 1 - p_true = the others' sum (computed
    # as p_true - 1 it cancels to 0 in float64 too once the others sum below 1e-16).
    upstream = p.copy()
    upstream[np.arange(len(x)), labels] = 0.0
    upstream[np.arange(len(x)), labels] = -upstream.sum(axis=1)
    g2 = (upstream @ weights[4].T) * (pre2 > 0)
    g1 = (g2 @ weights[2].T) * (pre1 > 0)
    import tensorflow as tf

    p32 = tf.nn.softmax(model.logits(tf.constant(x.astype(np.float32)))).numpy()
    return g1 @ weights[0].T, p32[np.arange(len(x)), labels]

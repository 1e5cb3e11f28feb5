"""Shared inputs of the fooling-study tests: real MNIST and a small real LeNet, made once.

MNIST comes from ``MNIST_MIRROR`` (a folder with the four .gz files; CI sets
it) or ``../shared/data/mnist`` beside the checkout; without either the tests
that need it are skipped with a message. The LeNet is trained for one epoch
on the first 2,000 training digits (about 90% test accuracy, a few seconds):
enough for evolution and gradient ascent to reach 99.99% quickly.
"""

from __future__ import annotations

import functools
import gzip
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest

from fooled.core import h5io
from fooled.data.mnist import MNIST_FILES, read_idx

REPO = Path(__file__).resolve().parents[1]
TRAIN_DIGITS = 2000
ARRAYS = {  # IDX file -> (artifact key, item shape)
    "train-images-idx3-ubyte": ("train/images", (28, 28)),
    "train-labels-idx1-ubyte": ("train/labels", ()),
    "t10k-images-idx3-ubyte": ("test/images", (28, 28)),
    "t10k-labels-idx1-ubyte": ("test/labels", ()),
}


def mnist_folder() -> Path:
    value = os.environ.get("MNIST_MIRROR", "").strip()
    candidates = [Path(value)] if value and "://" not in value else []
    candidates.append(REPO.parent / "shared" / "data" / "mnist")
    for candidate in candidates:
        if all((candidate / f"{name}.gz").is_file() for name in MNIST_FILES):
            return candidate
    pytest.skip("MNIST not found: set MNIST_MIRROR to a folder holding the four MNIST .gz files")


@functools.cache
def _mnist(folder: str) -> dict[str, np.ndarray]:
    arrays = {}
    for name, (key, shape) in ARRAYS.items():
        payload = gzip.decompress((Path(folder) / f"{name}.gz").read_bytes())
        arrays[key] = read_idx(payload, shape)
    return arrays


def mnist() -> dict[str, np.ndarray]:
    """The four MNIST arrays (uint8), as in the workflow's MNIST artifact."""
    return _mnist(str(mnist_folder()))


@functools.cache
def _workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="fooling-tests-"))


@functools.cache
def _mnist_artifact(folder: str) -> Path:
    arrays = _mnist(folder)
    subset = {
        key: values[: 5000 if key.startswith("train") else 1000] for key, values in arrays.items()
    }
    path = _workdir() / "mnist.h5"
    h5io.write_artifact(path, subset, {}, {"source": folder})
    return path


def mnist_artifact() -> Path:
    """The first 5,000 training and 1,000 test digits, in the layout of the workflow's
    ``resources/mnist/mnist.h5`` (a temporary file)."""
    return _mnist_artifact(str(mnist_folder()))


@functools.cache
def _small_lenet(folder: str) -> Path:
    from fooled.models.lenet import train_mnist_lenet
    from fooled.models.training import MnistTraining

    arrays = _mnist(folder)
    test = {name: arrays[name][:1000] for name in ("test/images", "test/labels")}
    settings = MnistTraining(
        seed=0, epochs=1, batch_size=32, learning_rate=0.002, max_train_samples=TRAIN_DIGITS
    )
    trained = train_mnist_lenet(settings, arrays | test)
    path = _workdir() / "small_lenet.keras"
    trained.model.save(path)
    return path


def small_lenet_file() -> Path:
    """A LeNet trained briefly on real digits, saved as a .keras file (made once per session)."""
    return _small_lenet(str(mnist_folder()))


def small_lenet():
    """A fresh :class:`ModelHandle` on the small LeNet."""
    from fooled.models.handle import ModelHandle
    from fooled.models.runtime import load_model

    return ModelHandle(load_model(small_lenet_file()))

"""Small real inputs shared by the Szegedy tests: MNIST and tiny trained models, made once.

MNIST comes from ``MNIST_MIRROR`` (a folder with the four .gz files) or the
shared copy; tests that need it skip when neither exists. Models are trained
on a few hundred real digits for one epoch: enough to classify above chance
and to be attacked, in about a second each.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np
import pytest

SHARED_MNIST = Path("/work/shared/data/mnist")


def mnist_folder() -> Path:
    value = os.environ.get("MNIST_MIRROR", "").strip()
    folder = Path(value) if value else SHARED_MNIST
    if not (folder / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"no MNIST at {folder} (set MNIST_MIRROR to a folder with the .gz files)")
    return folder


@functools.cache
def _mnist(folder: str) -> dict[str, np.ndarray]:
    from fooled.data.mnist import download_mnist

    arrays, _, _ = download_mnist([folder], progress=False)
    return arrays


def mnist() -> dict[str, np.ndarray]:
    """``train/images`` ... ``test/labels`` as uint8 arrays (the downloaded file's layout)."""
    return _mnist(str(mnist_folder()))


@functools.cache
def mnist_h5(folder: str) -> str:
    """The arrays as the workflow's ``mnist.h5`` (for stage tests), written once per session."""
    import atexit
    import shutil
    import tempfile

    from fooled.core import h5io

    folder_path = Path(tempfile.mkdtemp(prefix="szegedy-mnist-"))
    atexit.register(shutil.rmtree, folder_path, True)
    path = folder_path / "mnist.h5"
    h5io.write_artifact(path, _mnist(folder), h5io.provenance({}), {"source": folder})
    return str(path)


def tiny_settings(architecture: str, weight_decay, **changes):
    from fooled.models.mnist_zoo import TrainSettings

    values = {
        "architecture": architecture,
        "weight_decay": weight_decay,
        "training_set": "all",
        "seed": 0,
        "epochs": 1,
        "batch_size": 64,
        "learning_rate": 0.01,
        "max_train_samples": 600,
        "autoencoder_epochs": 1,
    }
    values.update(changes)
    return TrainSettings.from_config(values)


@functools.cache
def _trained(architecture: str, weight_decay: tuple | float, seed: int):
    from fooled.models.mnist_zoo import train_model

    data = mnist()
    decay = list(weight_decay) if isinstance(weight_decay, tuple) else weight_decay
    return train_model(tiny_settings(architecture, decay, seed=seed), data, split_seed=0)


def trained(architecture: str, weight_decay, seed: int = 0):
    """A tiny trained model (cached per architecture, decay and seed)."""
    key = tuple(weight_decay) if isinstance(weight_decay, list) else weight_decay
    return _trained(architecture, key, seed)


def attack_settings(**changes):
    from fooled.attacks.lbfgs import LBFGSSettings
    from fooled.core.config import schema_defaults

    values = dict(schema_defaults("studies/szegedy.schema.yaml", "attack"))
    values.update({"search_steps": 4, "max_iterations": 50, "batch_size": 8})
    values.update(changes)
    return LBFGSSettings.from_config(values)


def correct_test_images(model, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` test images the model classifies correctly, as pixel rows and labels."""
    from fooled.models.mnist_zoo import pixels, predict_classes

    data = mnist()
    x = pixels(data["test/images"][:500])
    y = data["test/labels"][:500].astype(np.int64)
    keep = np.flatnonzero(predict_classes(model, x) == y)[:n]
    return x[keep], y[keep]

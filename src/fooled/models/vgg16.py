"""VGG-16 (or any Keras model file) for the ImageNet studies, with its weights.

The paper's ImageNet experiments use VGG-16's FC-6 (Keras' ``fc1``, 4,096
units) before its ReLU, on images of 0-255 RGB pixels with VGG's
preprocessing; :class:`fooled.models.handle.ModelHandle` sees it there.

Weights: ``imagenet`` (Keras' published file, downloaded by rule
``download_vgg16`` with its MD5 checked), a local weights file, or ``random``:
He-normal kernels and zero biases drawn from a seeded NumPy generator, the
same on every machine. Random weights make every number incomparable with the
paper's; the report marks them so.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import keras
import numpy as np

from fooled.core import h5io
from fooled.models.handle import ModelHandle

VGG16_FILE = "vgg16_weights_tf_dim_ordering_tf_kernels.h5"


# ------------------------------------------------------------------ weights download


def md5_file(path: str | os.PathLike[str]) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def download_weights(
    url: str,
    destination: str | os.PathLike[str],
    md5: str,
    retries: int = 3,
    timeout_seconds: float = 120.0,
    opener: Callable[..., object] = urllib.request.urlopen,
) -> dict[str, str]:
    """Fetch ``url`` to ``destination`` atomically; refuse a file whose MD5 differs.

    Returns the record kept beside it: url, md5 (checked) and sha256 (ours).
    """
    errors = []
    for attempt in range(1, retries + 1):
        try:
            with h5io.atomic_path(destination) as temporary:
                with opener(url, timeout=timeout_seconds) as response, open(temporary, "wb") as out:
                    while block := response.read(1 << 20):
                        out.write(block)
                found = md5_file(temporary)
                if found != md5:
                    raise ValueError(f"{url}: MD5 {found}, expected {md5}")
            return {"url": url, "md5": md5, "sha256": h5io.sha256_file(destination)}
        except ValueError:
            raise
        except OSError as error:
            errors.append(f"attempt {attempt}: {' '.join(str(error).split())}")
            time.sleep(min(2.0 * attempt, 10.0))
    raise OSError(f"{url}: download failed ({'; '.join(errors)})")


# ------------------------------------------------------------------ models


def random_weights(model: keras.Model, seed: int) -> None:
    """He-normal kernels, zero biases, from one seeded NumPy generator, layer by layer."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        values = []
        for weight in layer.get_weights():
            if weight.ndim >= 2:
                fan_in = int(np.prod(weight.shape[:-1]))
                draw = rng.standard_normal(weight.shape, dtype=np.float32)
                values.append(draw * np.float32(np.sqrt(2.0 / fan_in)))
            else:
                values.append(np.zeros_like(weight))
        if values:
            layer.set_weights(values)


def weights_label(weights: str, model_file: str | os.PathLike[str] | None = None) -> str:
    """What the report and summary.json call these weights: imagenet, random or file:<digest>."""
    if weights in ("imagenet", "random"):
        return weights
    if weights == "file" and model_file is not None:
        return "file:" + h5io.sha256_file(model_file)[:16]
    return "file:" + h5io.sha256_file(weights)[:16]


def build_model(
    architecture: str = "vgg16",
    weights: str = "random",
    *,
    weights_path: str | os.PathLike[str] | None = None,
    model_file: str | os.PathLike[str] | None = None,
    input_size: int = 224,
    seed: int = 0,
) -> keras.Model:
    """VGG-16 (``architecture='vgg16'``) or a Keras model file (``'file'``) with its weights.

    ``weights``: ``random`` (seeded), ``imagenet`` (read from ``weights_path``,
    the downloaded file), ``file`` (the model file's own weights) or a path to
    a Keras weights file.
    """
    if architecture == "vgg16":
        model = keras.applications.VGG16(
            weights=None, include_top=True, input_shape=(input_size, input_size, 3)
        )
    elif architecture == "file":
        if model_file is None:
            raise ValueError("architecture 'file' needs a model file")
        try:
            model = keras.models.load_model(model_file, compile=False)
        except (OSError, ValueError) as error:
            raise ValueError(f"{model_file}: cannot load Keras model ({error})") from error
    else:
        raise ValueError(f"architecture '{architecture}' not one of vgg16, file")
    if weights == "random":
        random_weights(model, seed)
    elif weights == "file":
        if architecture != "file":
            raise ValueError("weights 'file' (the model file's own) need architecture 'file'")
    else:
        path = weights_path if weights == "imagenet" else weights
        if path is None:
            raise ValueError("weights 'imagenet' need the downloaded file (rule download_vgg16)")
        try:
            model.load_weights(str(path))
        except (OSError, ValueError) as error:
            raise ValueError(f"{path}: cannot load weights into {model.name} ({error})") from error
    return model


def write_weights_record(path: str | os.PathLike[str], record: dict[str, str]) -> None:
    h5io.write_text_atomic(path, json.dumps(record, indent=2, sort_keys=True) + "\n")


def resolve_weights_path(weights: str) -> Path | None:
    """A local weights file named in the config (environment variables expanded)."""
    if weights in ("imagenet", "random", "file"):
        return None
    return Path(os.path.expandvars(os.path.expanduser(weights)))


def imagenet_classifier(
    settings: Mapping[str, Any], weights_path: str | os.PathLike[str] | None, layer: str | None
) -> tuple[ModelHandle, str]:
    """The configured ImageNet classifier (``models.imagenet``) seen at ``layer``, and its label.

    The label (``imagenet``, ``random`` or ``file:<digest>``) goes into every
    artifact, so the report can keep random-weight rows apart from the paper's.
    """
    model = build_model(
        settings["architecture"],
        settings["weights"],
        weights_path=weights_path,
        model_file=settings["file"],
        input_size=settings["input_size"],
        seed=settings["seed"],
    )
    label = weights_label(settings["weights"], settings["file"])
    return ModelHandle(model, layer, settings["preprocess"]), label

"""A model of the user's: a Keras file checked once, before any job, and then driven like
the project's own networks (through :class:`fooled.models.handle.ModelHandle`).

The card (and any study that takes it) needs an MNIST classifier: an input of 784 values
(28x28, 28x28x1 or flat: the handle reshapes), an output of 10 classes (probabilities or
logits), pixels in [0, 1] or [0, 255] (``pixel_max``: the attacks work in [0, 1] and the
handle scales inside the graph, so their gradients reach the pixels). Every way the file
can be wrong is one line naming it, raised by :func:`check_own_model`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

MNIST_PIXELS = 28 * 28
MNIST_CLASSES = 10
PREPROCESS = {1: "none", 255: "scale255"}


def own_path(text: str) -> str:
    """A model path as a config gives it, ``~`` and environment variables expanded (relative
    paths stay relative to the working directory)."""
    return os.path.expandvars(os.path.expanduser(text))


class OwnModelError(ValueError):
    """A user's model file that the studies cannot drive (one line: the file and the cause);
    ``setting`` says which setting is wrong: ``path`` (the file) or ``layer``."""

    def __init__(self, message: str, setting: str = "path") -> None:
        super().__init__(message)
        self.setting = setting


def check_own_model(path: str | os.PathLike[str], layer: str | None = None) -> Any:
    """The loaded Keras model, or :class:`OwnModelError`: missing, not a Keras file, an input
    that is not 784 values, an output that is not 10 classes, a ``layer`` it lacks or whose
    ReLU cannot be found."""
    from fooled.models.handle import preactivation_tensor
    from fooled.models.runtime import load_model

    path = Path(path)
    if not path.is_file():
        raise OwnModelError(f"{path}: model file not found")
    try:
        model = load_model(path)
    except Exception as error:  # Keras raises many kinds for a file that is not a model
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise OwnModelError(f"{path}: not a Keras model file ({first})") from error
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise OwnModelError(
            f"{path}: the model has {len(model.inputs)} inputs and {len(model.outputs)} "
            "outputs; an MNIST classifier has one of each"
        )
    shape = tuple(model.inputs[0].shape[1:])
    size = 1
    for dimension in shape:
        size *= int(dimension) if dimension is not None else 0
    if size != MNIST_PIXELS:
        raise OwnModelError(
            f"{path}: input shape {shape} does not hold one 28x28 MNIST image "
            f"({MNIST_PIXELS} values: 28x28, 28x28x1 or flat)"
        )
    classes = model.outputs[0].shape[-1]
    if len(model.outputs[0].shape) != 2 or classes != MNIST_CLASSES:
        raise OwnModelError(
            f"{path}: output shape {tuple(model.outputs[0].shape[1:])} is not "
            f"{MNIST_CLASSES} classes"
        )
    if layer is not None:
        try:
            preactivation_tensor(model, layer)
        except ValueError as error:
            raise OwnModelError(f"{path}: {error}", "layer") from error
    return model


def own_handle(path: str | os.PathLike[str], pixel_max: int, layer: str | None = None) -> Any:
    """A handle on the user's model that takes pixels in [0, 1] (checked first)."""
    from fooled.models.handle import ModelHandle

    if pixel_max not in PREPROCESS:
        raise OwnModelError(f"pixel_max must be 1 or 255, got {pixel_max}")
    return ModelHandle(check_own_model(path, layer), layer=layer, preprocess=PREPROCESS[pixel_max])

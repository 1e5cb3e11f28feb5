"""The networks the fooling study attacks, with the image convention each one needs.

An attack needs a :class:`ModelHandle` plus the image it evolves or ascends:
its shape, its pixel range and the point L2 decay pulls towards. MNIST models
(the LeNet, the project's MLP, any MNIST model file) take 28x28 grey images
in ``[0, 1]``; VGG-16 takes ``S x S x 3`` RGB images in ``[0, 255]`` with
VGG's preprocessing inside the handle, and decays towards the ImageNet mean.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from fooled.models import vgg16
from fooled.models.handle import VGG_MEANS_BGR, ModelHandle
from fooled.models.runtime import load_model

MNIST_SHAPE = (28, 28)


@dataclass
class Target:
    """A network under attack and the images it is fed."""

    handle: ModelHandle
    image_shape: tuple[int, ...]
    low: float
    high: float
    centre: tuple[float, ...]  # where L2 decay pulls (per channel or one value)
    dataset: str  # "mnist" or "imagenet"
    label: str  # what the report calls the network
    comparable: bool  # False when the weights make paper comparisons meaningless (random)

    @property
    def n_classes(self) -> int:
        return self.handle.n_classes


def mnist_image_shape(handle: ModelHandle) -> tuple[int, ...]:
    """28x28 for any model whose input holds 784 values (flat rows or 28x28x1 images)."""
    if handle.input_size != int(np.prod(MNIST_SHAPE)):
        raise ValueError(
            f"model '{handle.model.name}' takes {handle.input_shape} inputs, not MNIST's 28x28"
        )
    return MNIST_SHAPE


def mnist_target(model_path: str | os.PathLike[str], label: str) -> Target:
    """An MNIST model file (Keras), pixels in [0, 1], decaying towards black."""
    handle = ModelHandle(load_model(model_path))
    return Target(
        handle=handle,
        image_shape=mnist_image_shape(handle),
        low=0.0,
        high=1.0,
        centre=(0.0,),
        dataset="mnist",
        label=label,
        comparable=True,
    )


def imagenet_target(
    settings: Mapping[str, Any], weights_path: str | os.PathLike[str] | None = None
) -> Target:
    """VGG-16 (or an ImageNet model file) from the ``models.imagenet`` config section."""
    model = vgg16.build_model(
        settings["architecture"],
        settings["weights"],
        weights_path=weights_path,
        model_file=settings.get("file"),
        input_size=settings["input_size"],
        seed=settings["seed"],
    )
    handle = ModelHandle(model, preprocess=settings["preprocess"])
    size = settings["input_size"]
    random = settings["weights"] == "random"
    label = f"{model.name} ({'random weights' if random else settings['weights']}, {size}px)"
    centre = tuple(reversed(VGG_MEANS_BGR)) if settings["preprocess"] == "vgg16" else (127.5,)
    return Target(
        handle=handle,
        image_shape=(size, size, 3),
        low=0.0,
        high=255.0,
        centre=centre,
        dataset="imagenet",
        label=label,
        comparable=not random,
    )

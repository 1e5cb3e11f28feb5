"""The fooling study's checks across config keys (run by the loader before any job).

An experiment's ``model`` names a network of the config's ``models`` section:
an MNIST network by its name there (``lenet``, ``mlp``; 10 outputs), or
``vgg16``, the ImageNet classifier of ``models.imagenet`` (1,000 outputs for
VGG-16; a Keras model file's are known only once it is loaded). ``classes``
are indices of that network's outputs, and retraining is defined for the
MNIST networks only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fooled.core.config import LoadedConfig

STUDY = "fooling"
IMAGENET_MODEL = "vgg16"  # what an experiment calls models.imagenet
MNIST_OUTPUTS = 10
VGG16_OUTPUTS = 1000


def network_outputs(config: Mapping[str, Any]) -> dict[str, int | None]:
    """The networks an experiment can name, with their outputs (None: not known before a job)."""
    networks: dict[str, int | None] = {
        name: MNIST_OUTPUTS for name in config["models"] if name != "imagenet"
    }
    architecture = config["models"]["imagenet"]["architecture"]
    networks[IMAGENET_MODEL] = VGG16_OUTPUTS if architecture == "vgg16" else None
    return networks


def check(loaded: LoadedConfig) -> None:
    """Each experiment's model is a network of the config, and its classes are outputs of it."""
    networks = network_outputs(loaded.config)
    mnist = sorted(name for name in networks if name != IMAGENET_MODEL)
    for name, settings in loaded.experiments[STUDY].items():
        model = settings["model"]
        allowed = mnist if settings["mode"] == "retrain" else sorted(networks)
        if model not in allowed:
            problem = f"{model!r} is not a network of the config's models"
            if model in networks:
                problem = f"retraining needs an MNIST network, not {model!r}"
            raise loaded.experiment_error(STUDY, name, ["model"], problem, allowed)
        outputs = networks[model]
        for index, output in enumerate(settings.get("classes") or []):
            if outputs is not None and output >= outputs:
                raise loaded.experiment_error(
                    STUDY,
                    name,
                    ["classes", index],
                    f"{output} is not one of {model}'s {outputs} outputs",
                    f"0-{outputs - 1}",
                )

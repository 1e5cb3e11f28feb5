"""Where the shared models' files lie: the MNIST networks the studies share, VGG-16's weights."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fooled.core.layout import Layout, artifacts

# The MNIST networks a study can name (`model:`), each trained by its own rule.
MNIST_NETWORKS = ("mlp", "lenet")

MODELS = Layout(
    "results/models",
    artifacts(
        model=("{network}/model.keras", "a trained MNIST network (mlp, lenet)"),
        metrics=(
            "{network}/metrics.h5",
            "its training curves, test accuracy and each test image's predicted class",
        ),
        replicate_model=(
            "{network}/seed{seed}/model.keras",
            "the same network trained at a further seed (models.<network>.replicate_seeds)",
        ),
        replicate_metrics=(
            "{network}/seed{seed}/metrics.h5",
            "that network's training curves, test accuracy and test predictions",
        ),
    ),
    "the shared MNIST networks (rules train_mlp, train_lenet; their further seeds: "
    "train_mlp_seed, train_lenet_seed)",
)


def replicate_seeds(settings: Mapping[str, Any]) -> list[int]:
    """A network's further seeds (``models.<network>.replicate_seeds``), in config order.

    Every study attacks the network of ``models.<network>.seed``; the further seeds are
    trained beside it so that what depends on training's randomness (test accuracy, and in
    the defences study FGSM, adversarial training and the autoencoder) has a spread.
    """
    return [int(seed) for seed in settings.get("replicate_seeds") or []]


def all_seeds(settings: Mapping[str, Any]) -> list[int]:
    """The network's seed first, then its further seeds."""
    return [int(settings["seed"]), *replicate_seeds(settings)]


def check_replicate_seeds(models: Mapping[str, Mapping[str, Any]]) -> None:
    """A further seed must differ from the network's own seed (it would train it twice)."""
    from fooled.core.config import ConfigError

    for network in MNIST_NETWORKS:
        settings = models.get(network, {})
        if int(settings.get("seed", 0)) in replicate_seeds(settings):
            raise ConfigError(
                f"models.{network}.replicate_seeds: {settings['seed']} is models.{network}.seed "
                "itself; list only further seeds"
            )


VGG16 = Layout(
    "resources/models",
    artifacts(
        weights=(
            "vgg16_weights_tf_dim_ordering_tf_kernels.h5",
            "Keras' pretrained VGG-16 weights, MD5 checked",
        ),
        record=("vgg16_weights.json", "where the weights came from, their MD5 and SHA-256"),
    ),
    "VGG-16's pretrained weights (rule download_vgg16)",
)

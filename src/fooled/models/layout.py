"""Where the shared models' files lie: the MNIST networks the studies share, VGG-16's weights."""

from __future__ import annotations

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
    ),
    "the shared MNIST networks (rules train_mlp, train_lenet)",
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

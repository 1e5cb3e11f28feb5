"""What the paper states, to set beside this study's results.

Sources: STUDIES.md section 2 and seed 001 (a review of the paper). Numbers
marked "(paper)" in STUDIES.md are recalled from the original paper and must
be checked against its PDF before a report calls them the paper's; the
report labels them "paper (as recalled in STUDIES.md)".
"""

from __future__ import annotations

THRESHOLDS = (0.99, 0.999, 0.9999)
TOP_THRESHOLD = 0.9999


def threshold_key(threshold: float) -> str:
    """A confidence threshold as the summary names it: 0.9999 -> "99.99%"."""
    return f"{100 * threshold:g}%"


# MNIST (LeNet): both encodings, every digit at >= 99.99% within about 50 generations.
MNIST_GENERATIONS_TO_9999 = 50
MNIST_FRACTION_AT_9999 = 1.0
MNIST_POPULATION = 200  # the authors' code
MNIST_GENERATIONS = 200  # the authors' MNIST runs

# ImageNet (their AlexNet-class DNN), 5,000 generations, population 400: median confidence.
IMAGENET_GENERATIONS = 5000
IMAGENET_POPULATION = 400
IMAGENET_DIRECT_MEDIAN = 0.216
IMAGENET_CPPN_MEDIAN = 0.88

# Gradient ascent (their settings).
ASCENT_STEPS = 300
ASCENT_L2_DECAY = 0.01

# Timing in the authors' README.
MNIST_SECONDS_200_GENERATIONS_4_CORES = 300.0

STATEMENTS = {
    "mnist_evolution": (
        "MNIST (LeNet): with either encoding, every one of the 10 digits reaches >= 99.99% "
        "confidence within about 50 generations, in every run."
    ),
    "imagenet_direct": (
        "ImageNet, direct encoding: fails for most classes; median confidence about 21.6% "
        "after 5,000 generations."
    ),
    "imagenet_cppn": (
        "ImageNet, CPPN encoding: median confidence about 88% after 5,000 generations."
    ),
    "retrain": (
        "Retraining with the fooling images as an extra class did not stop evolution from "
        "producing new fooling images with high confidence."
    ),
    "ascent": (
        "Gradient ascent from noise or an image (300 steps, L2 decay 0.01) also reaches high "
        "confidence for a chosen class."
    ),
}

PAPER_LABEL = "paper (as recalled in STUDIES.md)"

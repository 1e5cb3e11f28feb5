"""The reference numbers the defences study is compared with (STUDIES.md section 3).

Goodfellow, Shlens, Szegedy, "Explaining and harnessing adversarial examples"
(ICLR 2015), MNIST, fast gradient sign at eps = 0.25; and the slides of seed
003 (a small Keras autoencoder on MNIST, binary cross-entropy on pixels
scaled to [0, 1]). Every figure here is in STUDIES.md, checked there against the paper's
text: the paper reports two adversarially trained maxout networks, and each figure is
paired with the network it belongs to.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

FGSM_EPSILON = 0.25

#: Error rate on FGSM examples at eps 0.25 (Goodfellow et al. section 4).
FGSM_ERROR = {"shallow softmax": 0.999, "maxout network": 0.894}

#: Mean confidence on the misclassified FGSM examples (Goodfellow et al. section 4).
FGSM_CONFIDENCE = {"shallow softmax": 0.793, "maxout network": 0.976}

#: Adversarial training (alpha = 0.5, eps = 0.25) of the larger, 1,600-unit maxout network,
#: early-stopped on the adversarial validation error: FGSM error (the paper's "from 89.4%
#: to 17.9%") and its clean test error before and after (Goodfellow et al. section 6).
ADVERSARIAL_TRAINING = {
    "model": "maxout network, 1,600 units",
    "alpha": 0.5,
    "epsilon": 0.25,
    "fgsm_error_before": 0.894,
    "fgsm_error_after": 0.179,
    "clean_error_before": 0.0114,
    "clean_error_after": 0.00782,
    "confidence_misclassified_after": 0.814,
}

#: The other adversarially trained network, 240 units: clean test error before and after
#: (no FGSM figure of its own; an earlier version paired these with the 1,600-unit one's).
ADVERSARIAL_TRAINING_SMALL = {
    "model": "maxout network, 240 units",
    "clean_error_before": 0.0094,
    "clean_error_after": 0.0084,
}

#: The slides' autoencoder (seed 003): reconstruction loss of normal MNIST digits, and of two
#: inputs shown as examples: one accepted ("OK!"), one fooling image rejected ("LIAR!").
AUTOENCODER = {
    "loss": "bce",
    "clean_mean": 0.105,
    "clean_std": 0.036,
    "accepted_example": 0.141,
    "fooling_example": 0.269,
}


def at_epsilon(epsilons: Sequence[float], values: Sequence[Any], epsilon: float) -> Any:
    """A run's value at ``epsilon`` (usually the paper's; None when the run did not use it)."""
    found = [
        value for eps, value in zip(epsilons, values, strict=True) if math.isclose(eps, epsilon)
    ]
    return found[0] if found else None


def as_summary() -> dict[str, Any]:
    """The reference numbers as the report's ``summary.json`` carries them."""
    return {
        "fgsm_epsilon": FGSM_EPSILON,
        "fgsm_error": dict(FGSM_ERROR),
        "fgsm_confidence": dict(FGSM_CONFIDENCE),
        "adversarial_training": dict(ADVERSARIAL_TRAINING),
        "adversarial_training_small": dict(ADVERSARIAL_TRAINING_SMALL),
        "autoencoder": dict(AUTOENCODER),
    }

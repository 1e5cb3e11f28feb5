"""The reference numbers the defences study is compared with (STUDIES.md section 3).

Goodfellow, Shlens, Szegedy, "Explaining and harnessing adversarial examples"
(ICLR 2015), MNIST, fast gradient sign at eps = 0.25; and the slides of seed
003 (a small Keras autoencoder on MNIST, binary cross-entropy on pixels
scaled to [0, 1]). Values marked ``recalled`` are from the paper as
remembered, not from ../seeds/ nor STUDIES.md: check them against the PDF
before quoting them as the paper's.
"""

from __future__ import annotations

from typing import Any

FGSM_EPSILON = 0.25

#: Error rate on FGSM examples at eps 0.25 (STUDIES.md; Goodfellow et al. section 4).
FGSM_ERROR = {"shallow softmax": 0.999, "maxout network": 0.894}

#: Mean confidence on the misclassified FGSM examples (recalled: Goodfellow et al. section 4).
FGSM_CONFIDENCE_RECALLED = {"shallow softmax": 0.793, "maxout network": 0.976}

#: Adversarial training of the maxout network (alpha = 0.5, eps = 0.25): FGSM error and clean
#: test error before and after (STUDIES.md; Goodfellow et al. section 5).
ADVERSARIAL_TRAINING = {
    "model": "maxout network",
    "alpha": 0.5,
    "epsilon": 0.25,
    "fgsm_error_before": 0.894,
    "fgsm_error_after": 0.179,
    "clean_error_before": 0.0094,
    "clean_error_after": 0.0084,
}

#: Mean confidence on misclassified FGSM examples after adversarial training (recalled).
ADVERSARIAL_TRAINING_CONFIDENCE_RECALLED = 0.814

#: The slides' autoencoder (seed 003): reconstruction loss of normal MNIST digits, and of two
#: inputs shown as examples: one accepted ("OK!"), one fooling image rejected ("LIAR!").
AUTOENCODER = {
    "loss": "bce",
    "clean_mean": 0.105,
    "clean_std": 0.036,
    "accepted_example": 0.141,
    "fooling_example": 0.269,
}


def as_summary() -> dict[str, Any]:
    """The reference numbers as the report's ``summary.json`` carries them."""
    return {
        "fgsm_epsilon": FGSM_EPSILON,
        "fgsm_error": dict(FGSM_ERROR),
        "fgsm_confidence_recalled": dict(FGSM_CONFIDENCE_RECALLED),
        "adversarial_training": dict(ADVERSARIAL_TRAINING),
        "autoencoder": dict(AUTOENCODER),
    }

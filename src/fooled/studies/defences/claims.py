"""Goodfellow et al.'s and the slides' claims, checked against the defences study's summary."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fooled.report.claims import Claim, Measure, Measurement, NotComparable
from fooled.studies.defences.paper import FGSM_EPSILON, at_epsilon
from fooled.studies.defences.seeds import factor_over_seeds, over_seeds

GOODFELLOW = "Goodfellow, Shlens, Szegedy (ICLR 2015)"
MADRY = "Madry, Makelov, Schmidt, Tsipras, Vladu (ICLR 2018)"


def fgsm_fools(summary: Mapping[str, Any]) -> Measurement:
    if summary.get("seeds"):  # every seed of the MLP (summaries before seeds have none)
        measured = over_seeds(summary["seeds"], "fgsm_error")
        return measured or NotComparable(f"no FGSM at eps {FGSM_EPSILON:g} in this run")
    rows = summary["fgsm"]["rows"]
    error = at_epsilon([r["epsilon"] for r in rows], [r["error_rate"] for r in rows], FGSM_EPSILON)
    if error is None:
        return NotComparable(f"no FGSM at eps {FGSM_EPSILON:g} in this run")
    return Measure(float(error), 1, None, "model")


def training_factor(summary: Mapping[str, Any], attack: str) -> Measurement:
    """The error of ``attack`` (``fgsm``, ``pgd``) at eps 0.25 before adversarial training
    over after it, the latter at least one image's share (a defence that stops every example
    is judged by the number of images it was tried on)."""
    training = summary["adversarial_training"]
    epsilons = "epsilons" if attack == "fgsm" else f"{attack}_epsilons"
    name = attack.upper()
    if f"{attack}_error_before" not in training:
        return NotComparable(f"no {name} in this run")
    floor = 1.0 / summary["fgsm"]["n_images"]
    if summary.get("seeds"):
        measured = factor_over_seeds(
            summary["seeds"], f"{attack}_error_before", f"{attack}_error_after", floor
        )
        return measured or NotComparable(f"no {name} at eps {FGSM_EPSILON:g} in this run")
    before, after = (
        at_epsilon(training[epsilons], training[f"{attack}_error_{moment}"], FGSM_EPSILON)
        for moment in ("before", "after")
    )
    if before is None or after is None:
        return NotComparable(f"no {name} at eps {FGSM_EPSILON:g} in this run")
    return Measure(float(before) / max(float(after), floor), 1, None, "model")


def adversarial_training_helps(summary: Mapping[str, Any]) -> Measurement:
    return training_factor(summary, "fgsm")


def pgd_undoes_adversarial_training(summary: Mapping[str, Any]) -> Measurement:
    return training_factor(summary, "pgd")


def autoencoder_clean_error(summary: Mapping[str, Any]) -> Measurement:
    if summary.get("seeds"):
        measured = over_seeds(summary["seeds"], "autoencoder_clean_mean")
        return measured or NotComparable("no autoencoder in this run")
    clean = summary["autoencoder"]["clean"]
    return Measure(float(clean["mean"]), 1, None, "model")


CLAIMS: tuple[Claim, ...] = (
    Claim(
        key="fgsm_fools",
        text="FGSM at eps 0.25 makes a network trained without adversarial examples err on "
        "most MNIST test images",
        source=f"{GOODFELLOW}, section 4",
        paper="99.9% (shallow softmax), 89.4% (maxout)",
        measure=fgsm_fools,
        op=">=",
        threshold=0.894,
        reason="our MLP is neither network: at least the lower of the paper's two errors",
    ),
    Claim(
        key="adversarial_training_helps",
        text="Adversarial training lowers the error on FGSM examples by a large factor",
        source=f"{GOODFELLOW}, section 6",
        paper="89.4% to 17.9% (1,600-unit maxout): a factor of 5.0",
        measure=adversarial_training_helps,
        op=">=",
        threshold=2.0,
        reason="error before over error after, at eps 0.25: at least halved",
        digits=2,
    ),
    Claim(
        key="pgd_undoes_adversarial_training",
        text="Adversarial training on FGSM examples does not make a network robust to a "
        "stronger attack (L-infinity PGD)",
        source=f"{MADRY}, section 4 (FGSM adversaries); not one of the seed documents",
        paper="FGSM-trained networks show no robustness against PGD adversaries (no figure)",
        measure=pgd_undoes_adversarial_training,
        op="<",
        threshold=2.0,
        reason="PGD's error before over after, at eps 0.25: short of the halving that the "
        "FGSM claim's test asks",
        digits=2,
    ),
    Claim(
        key="autoencoder_clean_error",
        text="An autoencoder reconstructs clean test digits with a small error",
        source="the slides' Keras MNIST autoencoder (seed 003)",
        paper="mean 0.105, std 0.036",
        measure=autoencoder_clean_error,
        op="~",
        threshold=0.105,
        tolerance=0.036,
        reason="our mean within one of the slides' standard deviations of theirs",
    ),
)

"""Nguyen et al.'s claims on MNIST, checked against the fooling study's summary."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fooled.report.claims import Claim, Measurement, NotComparable, lowest
from fooled.studies.fooling.paper import MNIST_GENERATIONS

SOURCE = "Nguyen, Yosinski, Clune (CVPR 2015)"


def every_digit_is_fooled(summary: Mapping[str, Any]) -> Measurement:
    # The claim is the LeNet's: evolution on the project's other networks (the MLP) is an
    # extension the report shows beside it, not a departure that voids it.
    experiments = {
        name: e
        for name, e in summary["evolve"].items()
        if e["dataset"] == "mnist" and e["model"] == "lenet"
    }
    if not experiments:
        return NotComparable("no MNIST evolution on the LeNet in this run")
    reasons = sorted({d for e in experiments.values() for d in e.get("departures", [])})
    reasons += [
        f"{name}: {e['generations']} generations (the paper: {MNIST_GENERATIONS})"
        for name, e in experiments.items()
        if e["generations"] < MNIST_GENERATIONS
    ]
    if reasons:
        return NotComparable("; ".join(reasons))
    return lowest([f for e in experiments.values() for f in e["fraction_at_top_per_run"]], "run")


CLAIMS: tuple[Claim, ...] = (
    Claim(
        key="every_digit_is_fooled",
        text="Evolution finds, for every digit, an unrecognisable image the LeNet labels with "
        ">= 99.99% confidence, in every run and with either encoding",
        source=f"{SOURCE}, MNIST results (as STUDIES.md section 2 restates them)",
        paper="10 of 10 digits",
        measure=every_digit_is_fooled,
        op=">=",
        threshold=1.0,
        reason="the lowest fraction of digits at >= 99.99% over all runs of both encodings",
        digits=2,
    ),
)

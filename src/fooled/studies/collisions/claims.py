"""Li, Zhang and Malik's claims on MNIST, checked against the collisions study's summary."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fooled.report.claims import Claim, Measurement, NotComparable, lowest

SOURCE = "Li, Zhang, Malik (NeurIPS 2019)"


def _experiments(summary: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return dict(summary["experiments"])


def interpolations_keep_the_class(summary: Mapping[str, Any]) -> Measurement:
    values = [e["interp_top_class_accuracy"] for e in _experiments(summary).values()]
    return lowest(values, "experiment")


def lp_corners_are_exact(summary: Mapping[str, Any]) -> Measurement:
    exact = [e["exact"] for e in _experiments(summary).values() if e.get("exact")]
    if not exact:
        return NotComparable("no micro experiment computed the exact polytope")
    return lowest([item["lp_certified"] / item["n_lp"] for item in exact], "micro experiment")


CLAIMS: tuple[Claim, ...] = (
    Claim(
        key="interpolations_keep_the_class",
        text="Every convex combination of a collision's corners is classified as the target",
        source=f"{SOURCE}, section 3.1, Table 1 (MNIST, 2,000 interpolations)",
        paper="100%",
        measure=interpolations_keep_the_class,
        op=">=",
        threshold=1.0,
        reason="'every' combination: the lowest top-class accuracy over all experiments",
        digits=4,
    ),
    Claim(
        key="collision_set_is_a_polytope",
        text="The inputs colliding at a ReLU layer fed by the pixels form a polytope whose "
        "corners are exact collisions",
        source=f"{SOURCE}, section 2",
        paper="exact (a derivation)",
        measure=lp_corners_are_exact,
        op=">=",
        threshold=1.0,
        reason="every LP corner certified (equalities and signs within the stated tolerance)",
    ),
)

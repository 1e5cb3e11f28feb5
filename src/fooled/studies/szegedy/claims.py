"""Szegedy et al.'s claims on MNIST, checked against the study's summary."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fooled.report.claims import Claim, Measure, Measurement, NotComparable, lowest, mean_sd

SOURCE = "Szegedy et al. (ICLR 2014)"


def every_image_is_fooled(summary: Mapping[str, Any]) -> Measurement:
    rows = list(summary["table1"].values())
    departures = sorted({row["note"] for row in rows if "not comparable" in row.get("note", "")})
    if departures:
        return NotComparable("; ".join(departures))
    # on test images and, where the run attacked them, on the networks' training images
    rates = [row["success_rate"]["mean"] for row in rows]
    rates += [row["train_success_rate"]["mean"] for row in rows if "train_success_rate" in row]
    return lowest(rates, "network and image set")


def examples_transfer(summary: Mapping[str, Any]) -> Measurement:
    """Cross-network error of adversarial examples over the error of the Gaussian noise row
    with the most distortion (stddev 0.3: more than any adversarial example here)."""
    table = summary["transfer"]["table2"]
    columns = list(table["columns"])
    errors = {
        row: [cell["mean"] for cell in cells]
        for row, cells in zip(table["rows"], table["errors"], strict=True)
    }
    distortion = {
        row: cell["mean"] for row, cell in zip(table["rows"], table["distortion"], strict=True)
    }
    noise = [row for row in errors if row.startswith("Gaussian noise")]
    strongest = max(noise, key=distortion.__getitem__)
    noise_error = sum(errors[strongest]) / len(errors[strongest])
    crossed = [
        value
        for row, values in errors.items()
        if row.startswith("for ")
        for column, value in zip(columns, values, strict=True)
        if column != row.removeprefix("for ")
    ]
    ratios = mean_sd([value / noise_error for value in crossed], "network pair")
    return Measure(ratios.value, ratios.n, ratios.sd, ratios.over)


CLAIMS: tuple[Claim, ...] = (
    Claim(
        key="every_image_is_fooled",
        text="The box-constrained L-BFGS attack finds an adversarial example for every image, "
        "on every network",
        source=f"{SOURCE}, Table 1 ('0% accuracy on the training set')",
        paper="100%",
        measure=every_image_is_fooled,
        op=">=",
        threshold=1.0,
        reason="'every' image: the lowest success rate over the networks",
    ),
    Claim(
        key="examples_transfer",
        text="Adversarial examples made for one network are misclassified by the others, far "
        "more often than images with more random noise",
        source=f"{SOURCE}, Table 2",
        paper="2.0% to 87.1% across networks",
        measure=examples_transfer,
        op=">",
        threshold=2.0,
        reason="cross-network error over the error under Gaussian noise of stddev 0.3, "
        "averaged over network pairs: more than twice",
        digits=2,
    ),
)

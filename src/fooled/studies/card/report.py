"""The card's report section: one table, one column per model, the user's beside the
project's MLP and LeNet, and the per-digit table of the fooling attacks.

:func:`summarise` reads each model's measures artifact into the summary (its ``figures``
attribute, plain data); :func:`render` draws the tables from the summary. Reads HDF5 only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from fooled.core import h5io
from fooled.core.stage import Job
from fooled.report.html import Figures, escape, number, percent, table
from fooled.report.sections import Section

STUDY = "card"
TITLE = "Robustness card: your model beside the project's MLP and LeNet"


@dataclass(frozen=True)
class Artifacts:
    """Each model's measures artifact, in the card's column order."""

    measures: tuple[str, ...]


def artifacts_of(job: Job) -> Artifacts:
    """Rule ``card_report``'s input ``measures`` (a list, one file per model)."""
    value = job.input.measures
    return Artifacts(tuple([value] if isinstance(value, str) else [str(v) for v in value]))


def summarise(artifacts: Artifacts) -> dict[str, Any]:
    """The card's part of ``summary.json``: every model's figures, in column order."""
    return {"models": [h5io.read_attrs(path)["figures"] for path in artifacts.measures]}


def _fooled(generations: Sequence[int]) -> tuple[int, float | None]:
    """How many digits were fooled, and the median generation (or step) of those."""
    reached = [g for g in generations if g >= 0]
    return len(reached), (float(np.median(reached)) if reached else None)


def _at(rows: Sequence[Mapping[str, Any]], key: str, **match: Any) -> dict[float, Any]:
    return {
        row["epsilon"]: row[key]
        for row in rows
        if all(row.get(name) == value for name, value in match.items())
    }


def card_rows(models: Sequence[Mapping[str, Any]]) -> list[tuple[str, list[str]]]:
    """The card's rows: (figure, one cell per model)."""
    rows: list[tuple[str, list[str]]] = [
        ("clean accuracy", [percent(m["clean_accuracy"]) for m in models])
    ]
    for attack in ("fgsm", "pgd"):
        epsilons = sorted({row["epsilon"] for m in models for row in m[attack]})
        for eps in epsilons:
            rows.append(
                (
                    f"{attack.upper()} error, eps {eps:g}",
                    [percent(_at(m[attack], "error_rate").get(eps)) for m in models],
                )
            )
    rows.append(
        (
            "L-BFGS: fooled / median distortion",
            [
                f"{percent(m['lbfgs']['success_rate'])} / "
                f"{number(m['lbfgs']['median_distortion'], 4)}"
                for m in models
            ],
        )
    )
    rows += transfer_rows(models)
    for encoding, label in (("direct", "direct encoding"), ("cppn", "CPPN encoding")):
        cells = []
        for m in models:
            evolved = m["evolution"][encoding]
            count, median = _fooled(evolved["generation"])
            cells.append(f"{count} of 10 (median {number(median, 0)} of {evolved['generations']})")
        threshold = models[0]["evolution"][encoding]["threshold"] if models else 0
        rows.append((f"MAP-Elites, {label}: digits at >= {threshold:g}", cells))
    cells = []
    for m in models:
        count, median = _fooled(m["ascent"]["step"])
        cells.append(f"{count} of 10 (median step {number(median, 0)} of {m['ascent']['steps']})")
    threshold = models[0]["ascent"]["threshold"] if models else 0
    rows.append((f"gradient ascent: digits at >= {threshold:g}", cells))
    cells = []
    for m in models:
        collisions = m["collisions"]
        if "skipped" in collisions:
            cells.append("—")
            continue
        accuracy = [pair["interpolation_accuracy"] for pair in collisions["pairs"]]
        collided = [pair["corners_collided"] for pair in collisions["pairs"]]
        cells.append(
            f"{percent(float(np.mean(accuracy)))} (lowest {percent(min(accuracy))}; "
            f"{percent(float(np.mean(collided)))} of corners collide; {collisions['layer']})"
        )
    rows.append(("collisions: interpolations keeping the class", cells))
    cells = []
    for m in models:
        collisions = m["collisions"]
        pairs = collisions.get("pairs", [])
        if "skipped" in collisions or collisions.get("exact_skipped") or not pairs:
            cells.append("—")
            continue
        certified = sum(pair["lp_certified"] for pair in pairs)
        tried = sum(pair["lp_tried"] for pair in pairs)
        cells.append(f"{certified} of {tried} certified")
    rows.append(("collisions: exact LP corners (first dense layer)", cells))
    detector_keys = sorted(
        {(row["attack"], row["epsilon"]) for m in models for row in m["detector"].get("rows", [])}
    )
    for attack, eps in detector_keys:
        cells = []
        for m in models:
            auc = _at(m["detector"].get("rows", []), "auc", attack=attack).get(eps)
            cells.append(number(auc, 3) if auc is not None else "—")
        rows.append((f"detector ROC-AUC, {attack.upper()} eps {eps:g}", cells))
    return rows


def _spread(errors: Sequence[float]) -> str:
    """The mean of errors over networks, with the lowest and highest."""
    if not errors:
        return "—"
    return (
        f"{percent(float(np.mean(errors)))} ({percent(min(errors))} to {percent(max(errors))}, "
        f"{len(errors)} networks)"
    )


def transfer_rows(models: Sequence[Mapping[str, Any]]) -> list[tuple[str, list[str]]]:
    """Szegedy et al.'s transfer test both ways (mean over their networks, seeds pooled)."""
    to, back = [], []
    for m in models:
        transfer = m.get("transfer", {"skipped": ""})
        if "skipped" in transfer:
            to.append("—")
            back.append("—")
            continue
        to.append(_spread([row["error"] for row in transfer["to"].values()]))
        back.append(_spread(list(transfer["from"].values())))
    return [
        ("transfer: its error on Szegedy's networks' L-BFGS examples", to),
        ("transfer: Szegedy's networks' error on its L-BFGS examples", back),
    ]


def card_table(models: Sequence[Mapping[str, Any]]) -> str:
    header = ("", *(f"{m['model']} (yours)" if m["own"] else m["model"] for m in models))
    return table(header, [("", [label, *cells]) for label, cells in card_rows(models)])


def digits_table(models: Sequence[Mapping[str, Any]]) -> str:
    """Per digit: the generation (or step) each attack first reached the top threshold."""
    rows = []
    for m in models:
        for encoding in ("direct", "cppn"):
            generations = m["evolution"][encoding]["generation"]
            rows.append(
                (
                    "",
                    [f"{m['model']}: MAP-Elites {encoding}"]
                    + [str(g) if g >= 0 else "—" for g in generations],
                )
            )
        rows.append(
            (
                "",
                [f"{m['model']}: gradient ascent (step)"]
                + [str(s) if s >= 0 else "—" for s in m["ascent"]["step"]],
            )
        )
    return table(("attack", *(str(digit) for digit in range(10))), rows)


def render(summary: Mapping[str, Any], figures: Figures) -> Section:
    models = summary["models"]
    parts = [f"<h2>{escape(TITLE)}</h2>"]
    parts.append(
        '<p class="note">Every model is measured the same way, with each attack as its own '
        "study configures it (FGSM and PGD: defences; L-BFGS: szegedy; MAP-Elites and "
        "gradient ascent: fooling; collision corners: collisions_mnist) at the card's scale "
        "(studies.card). Errors are white-box, on the first test images; L-BFGS targets a "
        "seeded other class, and its examples are carried over to and from the szegedy "
        "study's networks (errors against the true labels); the fooling attacks' figures "
        "count digits reaching the top threshold within the run; the detector is the "
        "defences study's autoencoder.</p>"
    )
    parts.append(card_table(models))
    skipped = sorted(
        {
            f"{part}: {m[part]['skipped']}"
            for m in models
            for part in ("collisions", "detector", "transfer")
            if "skipped" in m.get(part, {})
        }
    )
    skipped += sorted(
        {
            f"exact LP corners, {m['model']}: {m['collisions']['exact_skipped']}"
            for m in models
            if m["collisions"].get("exact_skipped")
        }
    )
    if skipped:
        parts.append("<ul>" + "".join(f"<li>{escape(line)}</li>" for line in skipped) + "</ul>")
    parts.append(
        "<h3>When each digit was fooled</h3>"
        '<p class="note">The first generation (MAP-Elites) or step (gradient ascent) at '
        "the top confidence threshold; — where the run did not reach it.</p>" + digits_table(models)
    )
    return Section(STUDY, TITLE, "\n".join(parts), dict(summary))

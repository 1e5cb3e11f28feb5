"""The defences study's report section: does a model of the data manifold catch what fools?

One table scores every input kind of the run with the same autoencoder
(detection rate at the threshold, ROC-AUC against clean test images, the
classifier's confidence), with and without the adaptive term; beside it the
FGSM and adversarial-training tables with the paper's rows, the autoencoder's
error distribution with the slides', ROC curves, and example images with
their scores marked "OK" or "LIAR" as in the slides.

:func:`summarise` reads the study's five artifacts into the summary; :func:`render` draws
the section from it (:mod:`fooled.report.study`). Reads HDF5 only (no TensorFlow).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure

from fooled.core import h5io
from fooled.core.stage import Job, as_paths
from fooled.models import detector
from fooled.report.html import Figures, escape, number, percent, png, probability, table
from fooled.report.sections import Section
from fooled.studies.defences import paper, seeds
from fooled.studies.defences.readme import pgd_note

STUDY = "defences"
TITLE = "Defences: fast gradient sign, adversarial training and an autoencoder detector"
MAX_CURVE_POINTS = 400  # ROC curves are thinned to about this many points


@dataclass(frozen=True)
class Artifacts:
    """The study's six artifacts (docs/studies/defences.md)."""

    fgsm: str
    pgd: str
    adversarial_training: str
    autoencoder: str
    score: str
    adaptive: str
    card: tuple[str, ...] = ()  # the robustness card's measures (its user's model), if in the run
    # The MLP's metrics, its own seed first, then its further seeds (models.mlp.replicate_seeds)
    mlp_metrics: tuple[str, ...] = ()
    # At each further seed: its FGSM, PGD, adversarial training and autoencoder files
    seed_fgsm: tuple[str, ...] = ()
    seed_pgd: tuple[str, ...] = ()
    seed_metrics: tuple[str, ...] = ()
    seed_errors: tuple[str, ...] = ()


def artifacts_of(job: Job) -> Artifacts:
    """Rule ``defences_report``'s inputs ``fgsm``, ``pgd``, ``metrics``, ``errors``,
    ``score``, ``adaptive``."""
    return Artifacts(
        fgsm=str(job.input.fgsm),
        pgd=str(job.input.pgd),
        adversarial_training=str(job.input.metrics),
        autoencoder=str(job.input.errors),
        score=str(job.input.score),
        adaptive=str(job.input.adaptive),
        card=tuple(str(path) for path in job.input.get("card") or []),
        **{
            name: tuple(as_paths(job.input.get(name)))
            for name in ("mlp_metrics", "seed_fgsm", "seed_pgd", "seed_metrics", "seed_errors")
        },
    )


# ----------------------------------------------------------------------------- reading


def _datasets(path: str, prefix: str) -> dict[str, np.ndarray]:
    """Every dataset under the group ``prefix`` of an artifact, by its path below the group."""
    with h5io.open_artifact(path) as handle:
        if prefix not in handle:
            return {}
        found: dict[str, np.ndarray] = {}
        handle[prefix].visititems(
            lambda name, node: found.__setitem__(name, node[()]) if hasattr(node, "shape") else None
        )
        return found


def _attacker_order(row: Mapping[str, Any]) -> tuple[float, float, float]:
    """How an attacker ranks weights: most inputs that work and go undetected, then most that
    work at all, then fewest detected."""
    works = row.get("error_rate", row.get("collided", 0.0))
    evaded = row.get("evaded_and_fooled", row.get("evaded_collisions", 0.0))
    return (evaded, works, -row["detection_rate"])


def _best_fgsm(rows: Sequence[Mapping[str, Any]], epsilon: float) -> Mapping[str, Any] | None:
    """The adaptive FGSM (or PGD) row at ``epsilon`` an attacker would pick
    (:func:`_attacker_order`)."""
    chosen = [row for row in rows if math.isclose(row["epsilon"], epsilon)]
    return max(chosen, key=_attacker_order, default=None)


POOLED_KEYS = (
    "detection_rate",
    "auc",
    "mean_confidence",
    "collided",
    "mean_loss_pos",
    "class_kept",
    "mean_score",
    "plain_mean_score",
    "plain_detection_rate",
    "evaded_collisions",
    "interpolation_auc",
    "interpolation_detection_rate",
    "interpolation_class_kept",
)


def pooled_corners(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Adaptive corner rows pooled over experiments, one per level and weight (corner-weighted)."""
    pooled = []
    for level in ("micro", "macro"):
        for weight in sorted({row["weight"] for row in rows if row["level"] == level}):
            chosen = [row for row in rows if row["level"] == level and row["weight"] == weight]
            counts = np.asarray([row["n"] for row in chosen], np.float64)
            pooled.append(
                {
                    "level": level,
                    "weight": weight,
                    "n_experiments": len(chosen),
                    "n": int(counts.sum()),
                    **{
                        key: float(np.average([row[key] for row in chosen], weights=counts))
                        for key in POOLED_KEYS
                    },
                }
            )
    return pooled


def _best_corners(pooled: Sequence[Mapping[str, Any]], level: str) -> Mapping[str, Any] | None:
    """The pooled corner row of ``level`` an attacker would pick (:func:`_attacker_order`)."""
    return max((row for row in pooled if row["level"] == level), key=_attacker_order, default=None)


def _setting(row: Mapping[str, Any], key: str, score_path: str) -> Any:
    """A set's setting as the score stage recorded it (a number, or a level's name)."""
    settings = row.get("settings")
    if not isinstance(settings, Mapping) or key not in settings:
        raise h5io.ArtifactError(
            f"{score_path}: set '{row['name']}' does not record its {key} (written before the "
            "sets recorded their settings); rerun: snakemake --forcerun defences_score"
        )
    return settings[key]


def _adaptive_of(
    row: Mapping[str, Any],
    sign_step_rows: Mapping[str, Sequence[Mapping[str, Any]]],
    corners: Sequence[Mapping[str, Any]],
    score_path: str,
) -> dict[str, Any] | None:
    """What the adaptive attack does to the set ``row`` at the weight an attacker would pick
    (``sign_step_rows``: the adaptive FGSM and PGD rows by kind)."""
    if row["kind"] in sign_step_rows:
        best = _best_fgsm(sign_step_rows[row["kind"]], _setting(row, "epsilon", score_path))
        if best is None:
            return None
        return {
            "weight": best["weight"],
            "detection_rate": best["detection_rate"],
            "auc": best["auc"],
            "mean_confidence": best["mean_confidence"],
            "error_rate": best["error_rate"],
            "evaded": best["evaded_and_fooled"],
        }
    if row["kind"] not in ("collisions", "interpolations"):
        return None
    pooled = _best_corners(corners, _setting(row, "level", score_path))
    if pooled is None:
        return None
    if row["kind"] == "collisions":
        return {
            "weight": pooled["weight"],
            "detection_rate": pooled["detection_rate"],
            "auc": pooled["auc"],
            "mean_confidence": pooled["mean_confidence"],
            "evaded": pooled["evaded_collisions"],
            "collided": pooled["collided"],
            "n_experiments": pooled["n_experiments"],
        }
    return {
        "weight": pooled["weight"],
        "detection_rate": pooled["interpolation_detection_rate"],
        "auc": pooled["interpolation_auc"],
        "mean_confidence": None,
        "class_kept": pooled["interpolation_class_kept"],
        "n_experiments": pooled["n_experiments"],
    }


# ----------------------------------------------------------------------------- summarise


TRAINING_ERRORS = (
    "epsilons",
    "fgsm_error_before",
    "fgsm_error_after",
    "pgd_epsilons",
    "pgd_error_before",
    "pgd_error_after",
)


def training_errors(path: str) -> dict[str, Any]:
    """Adversarial training's clean error and its FGSM and PGD error at each epsilon, before
    and after (lists)."""
    attrs = h5io.read_attrs(path)
    arrays = h5io.read_arrays(path, list(TRAINING_ERRORS))
    return {
        "clean_error_before": attrs["clean_error_before"],
        "clean_error_after": attrs["clean_error_after"],
        **{name: arrays[name].tolist() for name in TRAINING_ERRORS},
    }


def seed_row(
    fgsm_path: str,
    pgd_path: str,
    training_path: str,
    errors_path: str,
    mlp_metrics: str | None,
) -> dict[str, Any]:
    """One MLP seed's figures: its test accuracy, FGSM and PGD error at each epsilon,
    adversarial training's errors before and after, and its autoencoder's clean error."""
    fgsm, pgd = h5io.read_attrs(fgsm_path), h5io.read_attrs(pgd_path)
    autoencoder = h5io.read_attrs(errors_path)
    row: dict[str, Any] = {"seed": None, "mlp_test_accuracy": None}
    if mlp_metrics is not None:
        metrics = h5io.read_attrs(mlp_metrics)
        row = {"seed": int(metrics["seed"]), "mlp_test_accuracy": metrics["test_accuracy"]}
    return row | {
        "epsilons": [r["epsilon"] for r in fgsm["rows"]],
        "fgsm_error": [r["error_rate"] for r in fgsm["rows"]],
        "fgsm_error_float32": [r.get("error_rate_float32") for r in fgsm["rows"]],
        "pgd_epsilons": [r["epsilon"] for r in pgd["rows"]],
        "pgd_error": [r["error_rate"] for r in pgd["rows"]],
        "adversarial_training": training_errors(training_path),
        "autoencoder_clean_mean": autoencoder["clean"]["mean"],
        "autoencoder_clean_std": autoencoder["clean"]["std"],
    }


def seed_rows(artifacts: Artifacts) -> list[dict[str, Any]]:
    """Every MLP seed's figures (:func:`seed_row`): the study's own models first, then each
    further seed's (models.mlp.replicate_seeds)."""
    further = (artifacts.seed_fgsm, artifacts.seed_pgd, artifacts.seed_metrics)
    further += (artifacts.seed_errors,)
    if len({len(files) for files in further}) != 1:
        raise ValueError("defences report: the further seeds' files do not pair up")
    metrics: list[str | None] = list(artifacts.mlp_metrics)
    metrics += [None] * (1 + len(artifacts.seed_fgsm) - len(metrics))
    own = (artifacts.fgsm, artifacts.pgd, artifacts.adversarial_training, artifacts.autoencoder)
    return [
        seed_row(*files, mlp)
        for files, mlp in zip([own, *zip(*further, strict=True)], metrics, strict=True)
    ]


def summarise(artifacts: Artifacts) -> dict[str, Any]:
    """The study's part of ``summary.json`` from its six artifacts."""
    fgsm = h5io.read_attrs(artifacts.fgsm)
    pgd = h5io.read_attrs(artifacts.pgd)
    training = h5io.read_attrs(artifacts.adversarial_training)
    autoencoder = h5io.read_attrs(artifacts.autoencoder)
    score = h5io.read_attrs(artifacts.score)
    adaptive = h5io.read_attrs(artifacts.adaptive)
    fgsm_rows, corner_rows = list(adaptive["fgsm_rows"]), list(adaptive["corner_rows"])
    pgd_rows = list(adaptive["pgd_rows"])
    corners = pooled_corners(corner_rows)
    return {
        "fgsm": {
            "n_images": fgsm["n_images"],
            "steps": fgsm["steps"],
            "gradient": fgsm.get("gradient", "float32"),
            "clean_error": fgsm["clean_error"],
            "rows": fgsm["rows"],
        },
        "pgd": {
            "n_images": pgd["n_images"],
            "preset": pgd["preset"],
            "settings": pgd["settings"],
            "clean_error": pgd["clean_error"],
            "rows": pgd["rows"],
        },
        "adversarial_training": {
            "init": training["init"],
            "epochs": training["epochs"],
            "n_train": training["n_train"],
            "alpha": training["alpha"],
            "epsilon": training["epsilon"],
            **training_errors(artifacts.adversarial_training),
            "lbfgs": training["lbfgs"],
        },
        "autoencoder": {
            "architecture": autoencoder["architecture"],
            "hidden_units": np.asarray(autoencoder["hidden_units"]).tolist(),
            "loss": autoencoder["loss"],
            "epochs": autoencoder["epochs"],
            "clean": autoencoder["clean"],
            "threshold": float(score["threshold"]),
            "false_positive_rate": autoencoder["false_positive_rate"],
            "test_flagged": autoencoder["test_flagged"],
        },
        "detection": {
            row["name"]: {
                "label": row["label"],
                "n": row["n"],
                "detection_rate": row["detection_rate"],
                "auc": row["auc"],
                "mean_confidence": row["mean_confidence"],
                "adaptive": _adaptive_of(
                    row, {"fgsm": fgsm_rows, "pgd": pgd_rows}, corners, artifacts.score
                ),
            }
            for row in score["sets"]
        },
        "skipped": score["skipped"],
        "adaptive": {
            "fgsm": fgsm_rows,
            "pgd": pgd_rows,
            "corners": corners,
            "corner_runs": corner_rows,
            "corners_skipped": adaptive["corner_skipped"],
            "hooks": adaptive["hooks"],
        },
        "paper": paper.as_summary(),
        "own_models": own_models(artifacts.card),
        "seeds": seed_rows(artifacts),
    }


def own_models(paths: Sequence[str]) -> list[dict[str, Any]]:
    """The user's models of the robustness card under FGSM and PGD (white box, the card's
    images, this study's attack settings): what the card measured, read from its artifacts."""
    found = []
    for path in paths:
        figures = h5io.read_attrs(path)["figures"]
        if figures.get("own"):
            found.append({key: figures[key] for key in ("model", "clean_accuracy", "fgsm", "pgd")})
    return found


# ----------------------------------------------------------------------------- figures


def roc_figure(clean: np.ndarray, curves: Sequence[tuple[str, np.ndarray, str]]) -> str:
    """ROC curves of several score sets against the clean scores (label, scores, line style)."""
    figure = Figure(figsize=(6.2, 4.6))
    ax = figure.subplots()
    ax.plot([0, 1], [0, 1], color="#bbb", lw=0.8, ls=":")
    colours = colormaps["tab20"].colors
    for position, (label, scores, style) in enumerate(curves):
        fpr, tpr = detector.roc_curve(clean, scores)
        step = max(1, len(fpr) // MAX_CURVE_POINTS)
        keep = np.unique(np.r_[np.arange(0, len(fpr), step), len(fpr) - 1])
        auc = detector.roc_auc(clean, scores)
        ax.plot(
            fpr[keep],
            tpr[keep],
            ls=style,
            lw=1.2,
            color=colours[position % len(colours)],
            label=f"{label} (AUC {auc:.3f})",
        )
    ax.set_xlabel("false-positive rate (clean test images flagged)")
    ax.set_ylabel("detection rate")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.legend(fontsize=6.5, loc="lower right")
    figure.tight_layout()
    return png(figure)


def examples_figure(
    rows: Sequence[tuple[str, np.ndarray, np.ndarray, np.ndarray]], threshold: float
) -> str:
    """The slides' "OK" / "LIAR" figure: per row (label, images, scores, classes) a few images."""
    columns = max((len(images) for _, images, _, _ in rows), default=1) or 1
    figure = Figure(figsize=(1.25 * columns + 2.2, 1.25 * len(rows) + 0.3))
    axes = figure.subplots(len(rows), columns + 1, squeeze=False)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
        ax.axis("off")
    for r, (label, images, scores, classes) in enumerate(rows):
        axes[r, 0].text(1.0, 0.5, label, ha="right", va="center", fontsize=7, wrap=True)
        for c, (image, score, predicted) in enumerate(zip(images, scores, classes, strict=True)):
            ax = axes[r, c + 1]
            ax.imshow(image, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
            verdict, colour = ("LIAR!", "#b00") if score > threshold else ("OK", "#070")
            ax.set_title(f"{score:.3f} {verdict} ({predicted})", fontsize=6.5, color=colour)
    figure.tight_layout()
    return png(figure)


def adaptive_corners_figure(
    arrays: Mapping[str, np.ndarray],
    rows: Sequence[Mapping[str, Any]],
    threshold: float,
    max_experiments: int = 4,
) -> str:
    """Per redone experiment: seed, target, a plain corner, and that corner at every weight."""
    names = list(dict.fromkeys(row["experiment"] for row in rows))[:max_experiments]
    weights = sorted({row["weight"] for row in rows})
    columns = 3 + len(weights)
    figure = Figure(figsize=(1.3 * columns, 1.45 * len(names) + 0.2))
    axes = figure.subplots(len(names), columns, squeeze=False)
    for r, name in enumerate(names):
        base = f"corners/{name}"
        plain_score = arrays[f"{base}/plain_scores"][0]
        panels = [
            (arrays[f"{base}/seed_image"], "seed", "k"),
            (arrays[f"{base}/target_image"], "target", "k"),
            (arrays[f"{base}/plain_corners"][0], f"plain R {plain_score:.2f}", "k"),
        ]
        for weight in weights:
            run = f"{base}/weight_{weight:g}"
            if f"{run}/corners" not in arrays:
                panels.append((np.zeros((28, 28)), f"w {weight:g}: —", "k"))
                continue
            score, loss = arrays[f"{run}/scores"][0], arrays[f"{run}/loss_pos"][0]
            limit = next(
                row.get("collision_threshold", 5.0)
                for row in rows
                if row["experiment"] == name and row["weight"] == weight
            )
            collides = loss < limit
            colour = "#070" if score <= threshold else "#b00"
            text = f"w {weight:g}: R {score:.2f}\nL_pos {loss:.1f}{'' if collides else ' (no)'}"
            panels.append((arrays[f"{run}/corners"][0], text, colour))
        for c, (image, title, colour) in enumerate(panels):
            ax = axes[r, c]
            ax.imshow(np.asarray(image).reshape(28, 28), cmap="gray", vmin=0, vmax=1)
            ax.set_title(title, fontsize=6.5, color=colour)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r, 0].set_ylabel(name, fontsize=6.5)
    figure.tight_layout()
    return png(figure)


def reconstructions_figure(examples: np.ndarray, reconstructions: np.ndarray) -> str:
    """Clean test digits above their reconstructions."""
    n = len(examples)
    figure = Figure(figsize=(1.0 * n, 2.2))
    axes = figure.subplots(2, n, squeeze=False)
    for k in range(n):
        for row, image in enumerate((examples[k], reconstructions[k])):
            axes[row, k].imshow(
                np.asarray(image).reshape(28, 28),
                cmap="gray",
                vmin=0,
                vmax=1,
                interpolation="nearest",
            )
            axes[row, k].set_xticks([])
            axes[row, k].set_yticks([])
    axes[0, 0].set_ylabel("input", fontsize=7)
    axes[1, 0].set_ylabel("output", fontsize=7)
    figure.tight_layout()
    return png(figure)


def histogram_figure(
    clean: np.ndarray, others: Sequence[tuple[str, np.ndarray]], threshold: float
) -> str:
    """Score distributions: clean test images against every other kind, the threshold marked."""
    figure = Figure(figsize=(9.0, 3.4))
    ax = figure.subplots()
    everything = np.concatenate([clean, *[scores for _, scores in others]])
    high = float(np.percentile(everything, 99.5))
    bins = np.linspace(0.0, max(high, threshold * 1.2), 60)
    ax.hist(clean, bins=bins, density=True, histtype="stepfilled", color="#bbb", label="clean test")
    colours = colormaps["tab20"].colors
    for position, (label, scores) in enumerate(others):
        ax.hist(
            np.clip(scores, 0, bins[-1]),
            bins=bins,
            density=True,
            histtype="step",
            color=colours[position % len(colours)],
            label=label,
        )
    ax.axvline(threshold, color="k", lw=0.8, ls="--", label="threshold")
    ax.set_xlabel("reconstruction error")
    ax.set_ylabel("density")
    ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    figure.tight_layout()
    return png(figure)


# ----------------------------------------------------------------------------- tables


def _fgsm_table(fgsm: Mapping[str, Any]) -> str:
    rows = [
        (
            "",
            [
                f"project MLP (this run, {fgsm['n_images']} test images)",
                number(row["epsilon"], 2),
                percent(row["error_rate"]),
                percent(row["error_rate_float32"]) if "error_rate_float32" in row else "—",
                probability(row["mean_confidence"]),
                probability(row["mean_confidence_misclassified"]),
            ],
        )
        for row in fgsm["rows"]
    ]
    for model, error in paper.FGSM_ERROR.items():
        rows.append(
            (
                "paper",
                [
                    f"paper: {model}",
                    number(paper.FGSM_EPSILON, 2),
                    percent(error),
                    "—",
                    "—",
                    probability(paper.FGSM_CONFIDENCE[model]),
                ],
            )
        )
    header = (
        "model",
        "eps",
        f"error ({fgsm.get('gradient', 'float32')} gradient)",
        "error (float32 gradient, as common libraries)",
        "mean confidence",
        "confidence (misclassified)",
    )
    return table(header, rows)


def _pgd_table(pgd: Mapping[str, Any]) -> str:
    header = ("model", "eps", "error", "mean confidence", "confidence (misclassified)")
    rows = [
        (
            "",
            [
                f"project MLP (this run, {pgd['n_images']} test images)",
                number(row["epsilon"], 2),
                percent(row["error_rate"]),
                probability(row["mean_confidence"]),
                probability(row["mean_confidence_misclassified"]),
            ],
        )
        for row in pgd["rows"]
    ]
    return table(header, rows)


def _own_models_table(models: Sequence[Mapping[str, Any]]) -> str:
    """The user's models under both attacks (from the robustness card), when there are any."""
    if not models:
        return ""
    rows = []
    for model in models:
        pgd = {row["epsilon"]: row["error_rate"] for row in model["pgd"]}
        for row in model["fgsm"]:
            rows.append(
                (
                    "",
                    [
                        f"{model['model']} (yours, from the robustness card)",
                        number(row["epsilon"], 2),
                        percent(row["error_rate"]),
                        percent(pgd.get(row["epsilon"])),
                    ],
                )
            )
    return '<p class="note">Your model, attacked the same way:</p>' + table(
        ("model", "eps", "FGSM error", "PGD error"), rows
    )


def _training_table(training: Mapping[str, Any]) -> str:
    epsilons = training["epsilons"]
    pgd_epsilons = training["pgd_epsilons"]
    lbfgs = training.get("lbfgs") or {"before": [], "after": []}
    header = ["model", "clean error", *[f"FGSM error, eps {eps:g}" for eps in epsilons]]
    header += [f"PGD error, eps {eps:g}" for eps in pgd_epsilons]
    header += [f"L-BFGS error ({row['attacked_model']})" for row in lbfgs["before"]]

    def cells(label: str, clean: float, errors: Sequence[float], key: str) -> list[str]:
        return (
            [label, percent(clean), *[percent(e) for e in errors]]
            + [percent(e) for e in training[f"pgd_error_{key}"]]
            + [percent(row["error"]) for row in lbfgs[key]]
        )

    scale = (
        f"{training['init']} init, {training['epochs']} epoch(s) on {training['n_train']} images"
    )
    rows = [
        (
            "",
            cells(
                "project MLP",
                training["clean_error_before"],
                training["fgsm_error_before"],
                "before",
            ),
        ),
        (
            "",
            cells(
                f"adversarially trained ({scale})",
                training["clean_error_after"],
                training["fgsm_error_after"],
                "after",
            ),
        ),
    ]
    reference = paper.ADVERSARIAL_TRAINING
    for moment in ("before", "after"):
        paper_cells = [
            f"paper: {reference['model']}, {moment}",
            percent(reference[f"clean_error_{moment}"]),
        ]
        paper_cells += [
            percent(reference[f"fgsm_error_{moment}"])
            if math.isclose(eps, paper.FGSM_EPSILON)
            else "—"
            for eps in epsilons
        ]
        paper_cells += ["—"] * (len(pgd_epsilons) + len(lbfgs["before"]))
        rows.append(("paper", paper_cells))
    small = paper.ADVERSARIAL_TRAINING_SMALL
    for moment in ("before", "after"):
        small_cells = [f"paper: {small['model']}, {moment}"]
        small_cells += [percent(small[f"clean_error_{moment}"])]
        small_cells += ["—"] * (len(epsilons) + len(pgd_epsilons) + len(lbfgs["before"]))
        rows.append(("paper", small_cells))
    return table(header, rows)


def _detection_table(
    sets: Sequence[Mapping[str, Any]], detection: Mapping[str, Mapping[str, Any]]
) -> str:
    """Every scored set (``sets``: the score artifact's rows), its adaptive cells from the
    summary. The artifact's rows, not the summary's, because set names need not be unique:
    every L-BFGS artifact of the szegedy study is named ``attack.h5``, so each of its sets is
    ``lbfgs_attack``, and ``summary.json``, keyed by name, holds the last of them only."""
    header = (
        "input",
        "n",
        "detected",
        "ROC-AUC",
        "confidence",
        "adaptive: weight",
        "adaptive: detected",
        "adaptive: ROC-AUC",
        "adaptive: confidence",
        "adaptive: fooled and undetected",
    )
    rows = []
    for row in sets:
        extra = detection[row["name"]]["adaptive"]
        adaptive_cells = ["—", "—", "—", "—", "—"]
        if extra is not None:
            adaptive_cells = [
                f"{extra['weight']:g}",
                percent(extra["detection_rate"]),
                number(extra["auc"], 3),
                probability(extra["mean_confidence"]),
                percent(extra.get("evaded")) if extra.get("evaded") is not None else "—",
            ]
        rows.append(
            (
                "",
                [
                    row["label"],
                    str(row["n"]),
                    percent(row["detection_rate"]),
                    "— (negatives)" if row["auc"] is None else number(row["auc"], 3),
                    probability(row["mean_confidence"]),
                    *adaptive_cells,
                ],
            )
        )
    return table(header, rows)


def _adaptive_fgsm_table(rows: Sequence[Mapping[str, Any]]) -> str:
    header = (
        "weight",
        "eps",
        "error",
        "detected",
        "ROC-AUC",
        "fooled and undetected",
        "mean score",
    )
    return table(
        header,
        [
            (
                "",
                [
                    f"{row['weight']:g}",
                    number(row["epsilon"], 2),
                    percent(row["error_rate"]),
                    percent(row["detection_rate"]),
                    number(row["auc"], 3),
                    percent(row["evaded_and_fooled"]),
                    number(row["mean_score"], 4),
                ],
            )
            for row in rows
        ],
    )


def _adaptive_corners_table(pooled: Sequence[Mapping[str, Any]]) -> str:
    header = (
        "level",
        "weight",
        "experiments",
        "collided (mean L_pos)",
        "target class kept",
        "score (plain)",
        "detected (plain)",
        "ROC-AUC",
        "collided, kept, undetected",
        "interpolations: detected / class kept",
    )
    return table(
        header,
        [
            (
                "",
                [
                    row["level"],
                    f"{row['weight']:g}",
                    str(row["n_experiments"]),
                    f"{percent(row['collided'])} ({number(row['mean_loss_pos'], 2)})",
                    percent(row["class_kept"]),
                    f"{number(row['mean_score'], 4)} ({number(row['plain_mean_score'], 4)})",
                    f"{percent(row['detection_rate'])} ({percent(row['plain_detection_rate'])})",
                    number(row["auc"], 3),
                    percent(row["evaded_collisions"]),
                    f"{percent(row['interpolation_detection_rate'])} / "
                    f"{percent(row['interpolation_class_kept'])}",
                ],
            )
            for row in pooled
        ],
    )


# ----------------------------------------------------------------------------- render


def _curves(
    summary: Mapping[str, Any],
    artifacts: Artifacts,
    sets: Sequence[Mapping[str, Any]],
    per_set: Mapping[str, np.ndarray],
) -> list[tuple[str, np.ndarray, str]]:
    """The ROC curves: every scored set, then the adaptive attacks at the chosen weights."""
    curves = [
        (row["label"], per_set[f"{row['name']}/scores"], "-")
        for row in sets
        if row["name"] != "clean" and f"{row['name']}/scores" in per_set
    ]
    for kind, name in (("fgsm", "FGSM"), ("pgd", "PGD")):
        arrays = _datasets(artifacts.adaptive, kind)
        weights, epsilons = arrays.get("weights"), arrays.get("epsilons")
        if weights is None or epsilons is None:
            continue
        for row in {row["name"]: row for row in sets}.values():
            extra = summary["detection"][row["name"]]["adaptive"]
            if extra is None or row["kind"] != kind:
                continue
            w = int(np.argmin(np.abs(weights - extra["weight"])))
            k = int(np.argmin(np.abs(epsilons - _setting(row, "epsilon", artifacts.score))))
            label = f"adaptive {name} eps {epsilons[k]:g}, weight {weights[w]:g}"
            curves.append((label, arrays["scores"][w, k], "--"))
    corners = _datasets(artifacts.adaptive, "corners")
    for level in ("micro", "macro"):
        best = _best_corners(summary["adaptive"]["corners"], level)
        if best is None:
            continue
        experiments = {
            row["experiment"] for row in summary["adaptive"]["corner_runs"] if row["level"] == level
        }
        suffix = f"/weight_{best['weight']:g}/scores"
        scores = [
            value
            for key, value in corners.items()
            if key.endswith(suffix) and key.split("/")[0] in experiments
        ]
        if scores:
            label = f"adaptive {level} collision corners, weight {best['weight']:g}"
            curves.append((label, np.concatenate(scores), "--"))
    return curves


def _seeds_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """Each figure at every seed of the MLP, and its mean +- sd over them."""
    if len(rows) < 2:
        return (
            '<p class="note">One seed of the MLP in this run (models.mlp.replicate_seeds lists '
            "none), so the figures above have no spread; config/paper.yaml repeats the MLP, "
            "FGSM, PGD, adversarial training and the autoencoder at two further seeds.</p>"
        )
    per_seed = [seeds.at_paper_epsilon(row) for row in rows]
    body = []
    for figure, label in seeds.FIGURES.items():
        measured = seeds.over_seeds(rows, figure)
        digits = 4 if figure == "autoencoder_clean_mean" else 3
        cells = ["-" if f[figure] is None else number(f[figure], digits) for f in per_seed]
        spread = "-" if measured is None else measured.text(digits)
        body.append(("", [label, *cells, spread]))
    header = ("figure", *(f"seed {row['seed']}" for row in rows), "mean +- sd")
    return (
        '<p class="note">The study\'s own models are those of the first seed; each further '
        "seed of the MLP (models.mlp.replicate_seeds) is trained, attacked, adversarially "
        "trained and given an autoencoder with that seed.</p>" + table(header, body)
    )


def render(summary: Mapping[str, Any], figures: Figures) -> Section:
    """The section: every table from ``summary``, the pictures from ``figures.artifacts``."""
    artifacts: Artifacts = figures.artifacts

    def show(uri: str, alt: str) -> str:
        return figures.img(uri, alt.replace(" ", "_"), alt)

    training, autoencoder = summary["adversarial_training"], summary["autoencoder"]
    adaptive, threshold = summary["adaptive"], autoencoder["threshold"]
    # What the captions say about the run's scale (the summary keeps the results).
    training_attrs = h5io.read_attrs(artifacts.adversarial_training)
    ae_attrs = h5io.read_attrs(artifacts.autoencoder)
    sets = h5io.read_attrs(artifacts.score)["sets"]  # every scored set (see _detection_table)
    parts = [f"<h2>{escape(TITLE)}</h2>"]
    parts.append(
        '<p class="note">Seeds 002 and 003 (STUDIES.md section 3). The classifier is the '
        "project's 784-256-256-10 ReLU MLP, not the paper's maxout network or shallow "
        "softmax; rows of this run name their training length (the quick scale trains the "
        "autoencoder and the adversarial model for a few epochs only).</p>"
    )
    parts.append("<h3>Fast gradient sign</h3>" + _fgsm_table(summary["fgsm"]))
    parts.append(
        "<h3>Projected gradient descent</h3>"
        f'<p class="note">L-infinity PGD (Madry et al., ICLR 2018) on the same images: '
        f"{escape(pgd_note(summary['pgd']))}. FGSM is its one-step case; a defence that holds "
        "against FGSM alone may only hide the gradient at the image.</p>"
        + _pgd_table(summary["pgd"])
        + _own_models_table(summary.get("own_models", []))
    )
    parts.append(
        "<h3>Adversarial training</h3>"
        f'<p class="note">alpha {training["alpha"]:g}, eps {training["epsilon"]:g}; '
        "FGSM examples made against each model itself on "
        f"{training_attrs['n_attacked']} test images, and PGD the same way "
        f"({escape(pgd_note(summary['pgd']))}). "
        f"{escape(training_attrs.get('lbfgs_skipped') or '')}</p>" + _training_table(training)
    )
    ae_note = (
        f"{escape(autoencoder['architecture'])} autoencoder "
        f"{escape(autoencoder['hidden_units'])}, loss {escape(autoencoder['loss'])}, "
        f"{autoencoder['epochs']} epoch(s) on {ae_attrs['n_train']} training images; threshold "
        f"{number(threshold, 4)} at a {percent(autoencoder['false_positive_rate'])} "
        f"false-positive rate on {ae_attrs['n_holdout']} held-out training images "
        f"({percent(autoencoder['test_flagged'])} of clean test images flagged)."
    )
    ae_rows = [
        (
            "",
            [
                f"this run ({autoencoder['epochs']} epochs)",
                autoencoder["loss"],
                number(autoencoder["clean"]["mean"], 4),
                number(autoencoder["clean"]["std"], 4),
                "—",
                "—",
            ],
        ),
        (
            "paper",
            [
                "slides (Keras blog autoencoder)",
                paper.AUTOENCODER["loss"],
                number(paper.AUTOENCODER["clean_mean"], 3),
                number(paper.AUTOENCODER["clean_std"], 3),
                number(paper.AUTOENCODER["accepted_example"], 3),
                number(paper.AUTOENCODER["fooling_example"], 3),
            ],
        ),
    ]
    ae_arrays = h5io.read_arrays(artifacts.autoencoder, ["examples", "reconstructions"])
    parts.append(
        f'<h3>Autoencoder</h3><p class="note">{ae_note}</p>'
        + table(
            ("", "loss", "clean mean", "clean std", "accepted example", "fooling example"), ae_rows
        )
        + show(
            reconstructions_figure(ae_arrays["examples"], ae_arrays["reconstructions"]),
            "reconstructions",
        )
    )
    parts.append("<h3>Over the MLP's seeds</h3>" + _seeds_table(summary.get("seeds", [])))
    parts.append(
        "<h3>Every kind of input, one detector</h3>"
        '<p class="note">Detected: share above the threshold. ROC-AUC: against the clean test '
        "images. Confidence: the MLP's mean top-class probability. Adaptive: the attack also "
        "minimises the reconstruction error, at the weight an attacker would pick (most inputs "
        "that fool the MLP, or still collide, and go undetected; then most that fool or "
        "collide; then fewest detected). Collisions: the redone experiments' corners, pooled. "
        "Fooled and undetected: misclassified (FGSM, PGD) or still colliding with the target's "
        "class kept (corners), and at most the threshold.</p>"
        + _detection_table(sets, summary["detection"])
    )
    if summary["skipped"]:
        parts.append(
            _items(f"skipped {name}: {reason}" for name, reason in summary["skipped"].items())
        )
    per_set = _datasets(artifacts.score, "sets")
    curves = _curves(summary, artifacts, sets, per_set)
    if curves:
        clean_scores = h5io.read_arrays(artifacts.score, ["clean_scores"])["clean_scores"]
        parts.append(show(roc_figure(clean_scores, curves), "ROC curves"))
        parts.append(
            show(
                histogram_figure(
                    clean_scores, [(label, scores) for label, scores, _ in curves], threshold
                ),
                "score distributions",
            )
        )
    example_rows = [
        (
            row["label"],
            per_set[f"{row['name']}/examples"],
            per_set[f"{row['name']}/example_scores"],
            per_set[f"{row['name']}/example_predicted"],
        )
        for row in sets
        if f"{row['name']}/examples" in per_set
    ]
    if example_rows:
        parts.append(
            "<h3>Examples: OK or LIAR?</h3>"
            '<p class="note">Each image with its reconstruction error, the verdict at the '
            "threshold and the MLP's class.</p>"
            + show(examples_figure(example_rows, threshold), "examples")
        )
    parts.append(
        "<h3>Adaptive attacks</h3><h4>FGSM with the reconstruction error in its objective</h4>"
        + _adaptive_fgsm_table(adaptive["fgsm"])
        + "<h4>PGD with the reconstruction error in its objective</h4>"
        + _adaptive_fgsm_table(adaptive["pgd"])
    )
    parts.append("<h4>Collision corners with the reconstruction error in their loss</h4>")
    if adaptive["corner_runs"]:
        corner_arrays = {
            f"corners/{key}": value
            for key, value in _datasets(artifacts.adaptive, "corners").items()
        }
        parts.append(_adaptive_corners_table(adaptive["corners"]))
        parts.append(
            '<p class="note">Corner 0 of a few redone experiments at every weight: R is the '
            "reconstruction error (green: at most the threshold), L_pos the collision loss "
            '("no": at or above the collision threshold).</p>'
            + show(
                adaptive_corners_figure(corner_arrays, adaptive["corner_runs"], threshold),
                "adaptive collision corners",
            )
        )
    if adaptive["corners_skipped"]:
        parts.append(
            _items(f"{name}: {reason}" for name, reason in adaptive["corners_skipped"].items())
        )
    parts.append(
        '<p class="note">Hooks for the other attacks: '
        + "; ".join(
            f"{escape(name)}: {escape(status)}" for name, status in adaptive["hooks"].items()
        )
        + "</p>"
    )
    return Section(STUDY, TITLE, "\n".join(parts), dict(summary))


def _items(lines: Iterable[str]) -> str:
    return "<ul>" + "".join(f"<li>{escape(line)}</li>" for line in lines) + "</ul>"

"""The fooling study's report section: evolved and ascended fooling images beside the paper.

Per evolve experiment (a model and an encoding, over its runs): the grid of
elite images with their confidences (as the paper's figures), the best
confidence against generation for each class (median and min-max over
runs), the fraction of classes at >= 99.99% and the generations it took,
beside the paper's statement. Then gradient ascent (steps to each
threshold, from noise and from real digits) and the retraining rounds.
Rows that cannot be compared with the paper say why (random weights, a
population or a network that is not the authors').

:func:`summarise` reads the artifacts into the summary; :func:`render` draws the section
from it (:mod:`fooled.report.study`). Reads HDF5 only (no TensorFlow).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fooled.core.h5io import read_arrays, read_attrs
from fooled.core.stage import Job, as_paths
from fooled.report.html import Figures, escape, number, percent, png, table
from fooled.report.sections import Section
from fooled.studies.fooling import figures as plots
from fooled.studies.fooling import paper
from fooled.studies.fooling.paper import threshold_key
from fooled.studies.fooling.readme import seeds_note

STUDY = "fooling"
TITLE = "Fooling images: unrecognisable images labelled with 99.99% confidence (Nguyen et al.)"
EVOLVE_KEYS = [
    "classes",
    "elites",
    "elite_confidence",
    "confidence_history",
    "threshold_generation",
    "thresholds",
]
ASCEND_KEYS = [
    "images",
    "start_images",
    "start_class",
    "target_classes",
    "confidence_history",
    "threshold_step",
    "threshold_images",
    "thresholds",
    "final_confidence",
]
RETRAIN_KEYS = [
    "test_accuracy",
    "fooling_train_images",
    "fooling_recognised",
    "elite_confidence",
    "threshold_generation",
    "thresholds",
]


def _median(values: Sequence[float]) -> float | None:
    return float(np.median(values)) if len(values) else None


@dataclass(frozen=True)
class Artifacts:
    """The study's artifacts (any list may be empty) and the report's settings."""

    evolve: Sequence[str] = ()
    ascend: Sequence[str] = ()
    retrain: Sequence[str] = ()
    metrics: Mapping[str, str] = field(default_factory=dict)  # model -> its training metrics
    # model -> its further seeds' metrics (models.<network>.replicate_seeds)
    seed_metrics: Mapping[str, Sequence[str]] = field(default_factory=dict)
    settings: Mapping[str, Any] = field(default_factory=dict)  # studies.fooling.report


def artifacts_of(job: Job) -> Artifacts:
    """Rule ``fooling_report``'s inputs ``evolve``, ``ascend``, ``retrain`` (lists, any may be
    missing), ``metrics_<model>`` (optional: whose ``test_accuracy`` is shown beside that
    model's rows), and params ``report``."""
    return Artifacts(
        evolve=as_paths(job.input.get("evolve")),
        ascend=as_paths(job.input.get("ascend")),
        retrain=as_paths(job.input.get("retrain")),
        metrics={
            name[len("metrics_") :]: str(path)
            for name, path in job.input.items()
            if name.startswith("metrics_")
        },
        seed_metrics={
            name[len("seed_metrics_") :]: as_paths(paths)
            for name, paths in job.input.items()
            if name.startswith("seed_metrics_")
        },
        settings=dict(job.params.get("report", {})),
    )


# ----------------------------------------------------------------------------- evolve


@dataclass
class EvolveExperiment:
    """Every run of one evolve experiment, stacked."""

    name: str
    attrs: dict[str, Any]  # of the first run
    runs: list[int]
    classes: np.ndarray
    elites: np.ndarray  # (runs, K, *shape)
    elite_confidence: np.ndarray  # (runs, K)
    histories: np.ndarray  # (runs, G + 1, K)
    threshold_generation: np.ndarray  # (runs, T, K)
    thresholds: np.ndarray

    def statistics(self) -> dict[str, Any]:
        """The summary of the experiment (what summary.json and the tables hold)."""
        top = self.threshold_generation[:, -1, :]
        per_run = (top >= 0).mean(axis=1)
        reached = {}
        for row, threshold in enumerate(self.thresholds):
            generations = self.threshold_generation[:, row, :]
            hit = generations[generations >= 0]
            reached[threshold_key(threshold)] = {
                "fraction_of_classes": float((generations >= 0).mean()),
                "median_generation": _median(hit),
                "max_generation": int(hit.max()) if hit.size else None,
            }
        last_class = [int(top[r].max()) if (top[r] >= 0).all() else None for r in range(len(top))]
        return {
            "model": self.attrs.get("model"),
            "model_label": self.attrs.get("model_label"),
            "encoding": self.attrs.get("encoding"),
            "dataset": self.attrs.get("dataset"),
            "comparable": bool(self.attrs.get("comparable", True)),
            "runs": len(self.runs),
            "population_size": int(self.attrs.get("population_size", 0)),
            "generations": int(self.histories.shape[1] - 1),
            "n_classes": int(len(self.classes)),
            "fraction_at_top_mean": float(per_run.mean()),
            "fraction_at_top_per_run": [float(f) for f in per_run],
            "runs_with_every_class_at_top": int((per_run == 1.0).sum()),
            "generation_every_class_at_top_per_run": last_class,
            "median_final_confidence": float(np.median(self.elite_confidence)),
            "thresholds": reached,
            "generations_per_second_mean": float(
                np.mean(self.attrs.get("_generations_per_second", [0.0]))
            ),
        }


def read_evolve(paths: Sequence[str]) -> list[EvolveExperiment]:
    """Evolve artifacts grouped by experiment (runs in order)."""
    groups: dict[str, list[tuple[int, dict[str, Any], dict[str, np.ndarray]]]] = {}
    for path in paths:
        attrs = read_attrs(path)
        arrays = read_arrays(path, EVOLVE_KEYS)
        name = attrs.get("experiment") or f"{attrs.get('model')}_{attrs.get('encoding')}"
        groups.setdefault(name, []).append((int(attrs.get("run", 0)), attrs, arrays))
    experiments = []
    for name, runs in groups.items():
        runs.sort(key=lambda item: item[0])
        first = dict(runs[0][1])
        first["_generations_per_second"] = [
            float(attrs.get("generations_per_second", 0.0)) for _, attrs, _ in runs
        ]
        lengths = {arrays["confidence_history"].shape for _, _, arrays in runs}
        if len(lengths) != 1:
            raise ValueError(f"evolve experiment {name}: runs of different lengths {lengths}")
        experiments.append(
            EvolveExperiment(
                name=name,
                attrs=first,
                runs=[run for run, _, _ in runs],
                classes=runs[0][2]["classes"],
                elites=np.stack([arrays["elites"] for _, _, arrays in runs]),
                elite_confidence=np.stack([arrays["elite_confidence"] for _, _, arrays in runs]),
                histories=np.stack([arrays["confidence_history"] for _, _, arrays in runs]),
                threshold_generation=np.stack(
                    [arrays["threshold_generation"] for _, _, arrays in runs]
                ),
                thresholds=runs[0][2]["thresholds"],
            )
        )
    return experiments


def departures(stats: Mapping[str, Any], accuracy: float | None) -> list[str]:
    """Why a row does not match the paper's setting (empty when it does)."""
    notes = []
    if not stats["comparable"]:
        notes.append("random weights: not comparable to the paper")
    if stats["dataset"] == "imagenet":
        notes.append(
            f"VGG-16, not the paper's ImageNet network; {stats['generations']} of "
            f"{paper.IMAGENET_GENERATIONS} generations"
        )
        return notes
    if stats["population_size"] != paper.MNIST_POPULATION:
        notes.append(f"population {stats['population_size']} (authors: {paper.MNIST_POPULATION})")
    if accuracy is not None and accuracy < 0.99:
        notes.append(f"network at {100 * accuracy:.2f}% test accuracy (the paper's LeNet: ~99%)")
    if stats["model"] not in ("lenet",):
        notes.append(f"network '{stats['model']}' (the paper: LeNet)")
    return notes


# ----------------------------------------------------------------------------- ascend


def _starts(arrays: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """Per kind of start (noise, a real image): how many reached each threshold, and when."""
    starts = {}
    for kind, mask in (
        ("noise", arrays["start_class"] < 0),
        ("image", arrays["start_class"] >= 0),
    ):
        if not mask.any():
            continue
        steps = arrays["threshold_step"][:, mask]
        starts[kind] = {
            "n": int(mask.sum()),
            "median_final_confidence": float(np.median(arrays["final_confidence"][mask])),
            "thresholds": {
                threshold_key(t): {
                    "fraction": float((steps[row] >= 0).mean()),
                    "median_step": _median(steps[row][steps[row] >= 0]),
                }
                for row, t in enumerate(arrays["thresholds"])
            },
        }
    return starts


def _ascend_name(attrs: Mapping[str, Any]) -> str:
    return attrs.get("experiment") or str(attrs.get("model"))


def ascend_summary(path: str) -> dict[str, Any]:
    """One gradient-ascent artifact's summary."""
    attrs = read_attrs(path)
    return {
        "model": attrs.get("model"),
        "model_label": attrs.get("model_label"),
        "comparable": bool(attrs.get("comparable", True)),
        "score": attrs.get("score"),
        "lr_policy": attrs.get("lr_policy"),
        "steps": int(attrs.get("steps", 0)),
        "l2_decay": float(attrs.get("l2_decay", 0.0)),
        "starts": _starts(read_arrays(path, ASCEND_KEYS)),
    }


# ----------------------------------------------------------------------------- retrain


def retrain_summary(path: str) -> dict[str, Any]:
    """One retraining artifact's summary: every round, and whether evolution still fooled."""
    attrs = read_attrs(path)
    arrays = read_arrays(path, RETRAIN_KEYS)
    top = arrays["threshold_generation"][:, :, -1, :]  # (rounds, runs, K)
    rounds = []
    for r in range(top.shape[0]):
        hit = top[r][top[r] >= 0]
        recognised = float(arrays["fooling_recognised"][r])
        rounds.append(
            {
                "round": r,
                "test_accuracy": float(arrays["test_accuracy"][r]),
                "fooling_train_images": int(arrays["fooling_train_images"][r]),
                "fooling_recognised": recognised if np.isfinite(recognised) else None,
                "fraction_at_top": float((top[r] >= 0).mean()),
                "median_generation_to_top": _median(hit),
                "median_final_confidence": float(np.median(arrays["elite_confidence"][r])),
            }
        )
    later = rounds[1:]
    if not later or rounds[0]["fraction_at_top"] == 0:
        still_fooled = None  # no retraining, or evolution failed even before it
    else:
        still_fooled = all(r["fraction_at_top"] > 0 for r in later)
    return {
        "model": attrs.get("model"),
        "model_label": attrs.get("model_label"),
        "encoding": attrs.get("encoding"),
        "runs_per_round": int(attrs.get("runs_per_round", 0)),
        "population_size": int(attrs.get("population_size", 0)),
        "generations": int(attrs.get("generations", 0)),
        "top_threshold": float(arrays["thresholds"][-1]),
        "rounds": rounds,
        "still_fooled_after_retraining": still_fooled,
    }


# ----------------------------------------------------------------------------- summarise


def model_seeds(artifacts: Artifacts, model: str) -> list[dict[str, Any]]:
    """A network's seed and test accuracy, its own first, then its further seeds'."""
    paths = [artifacts.metrics[model], *artifacts.seed_metrics.get(model, ())]
    return [
        {"seed": int(attrs["seed"]), "test_accuracy": float(attrs["test_accuracy"])}
        for attrs in (read_attrs(path) for path in paths)
    ]


def summarise(artifacts: Artifacts) -> dict[str, Any]:
    """The study's part of ``summary.json`` from its artifacts (any list may be empty)."""
    accuracy = {
        model: float(read_attrs(path)["test_accuracy"]) for model, path in artifacts.metrics.items()
    }
    summary: dict[str, Any] = {
        "paper": dict(paper.STATEMENTS),
        "evolve": {},
        "ascend": {},
        "retrain": {},
        "models": {
            model: {"test_accuracy": value, "seeds": model_seeds(artifacts, model)}
            for model, value in accuracy.items()
        },
        "artifacts": {
            "evolve": len(artifacts.evolve),
            "ascend": len(artifacts.ascend),
            "retrain": len(artifacts.retrain),
        },
    }
    for experiment in read_evolve(artifacts.evolve):
        stats = experiment.statistics()
        model_accuracy = accuracy.get(str(stats["model"]))
        stats["departures"] = departures(stats, model_accuracy)
        stats["model_test_accuracy"] = model_accuracy
        summary["evolve"][experiment.name] = stats
    for path in artifacts.ascend:
        summary["ascend"][_ascend_name(read_attrs(path))] = ascend_summary(path)
    for path in artifacts.retrain:
        record = retrain_summary(path)
        summary["retrain"][read_attrs(path).get("experiment") or str(record["model"])] = record
    return summary


# ----------------------------------------------------------------------------- render


def _top(stats: Mapping[str, Any]) -> str:
    """The highest threshold of an experiment's summary (its last)."""
    return list(stats["thresholds"])[-1]


def evolve_html(
    name: str,
    stats: Mapping[str, Any],
    experiment: EvolveExperiment,
    settings: Mapping[str, Any],
    figures: Figures,
) -> str:
    """One evolve experiment: its table beside the paper, its elites and confidence curves."""
    top = _top(stats)
    accuracy = stats["model_test_accuracy"]
    header = ["", "classes reached", "median generation", "last class at generation"]
    rows: list[tuple[str, list[str]]] = []
    for label, reached in stats["thresholds"].items():
        rows.append(
            (
                "",
                [
                    f">= {label}",
                    percent(reached["fraction_of_classes"]),
                    number(reached["median_generation"], 0),
                    number(reached["max_generation"], 0),
                ],
            )
        )
    if stats["dataset"] == "mnist":
        rows.append(
            (
                "paper",
                [
                    f"{paper.PAPER_LABEL}: >= {top}",
                    percent(paper.MNIST_FRACTION_AT_9999),
                    "—",
                    f"within ~{paper.MNIST_GENERATIONS_TO_9999}",
                ],
            )
        )
    else:
        median = (
            paper.IMAGENET_DIRECT_MEDIAN
            if stats["encoding"] == "direct"
            else paper.IMAGENET_CPPN_MEDIAN
        )
        rows.append(
            (
                "paper",
                [
                    f"{paper.PAPER_LABEL}: median confidence after "
                    f"{paper.IMAGENET_GENERATIONS} generations {percent(median)}",
                    "—",
                    "—",
                    "—",
                ],
            )
        )
    css = "random" if not stats["comparable"] else ""
    lines = [
        f'<section class="experiment"><h3>{escape(name)}: '
        f"{escape(stats['model_label'])}, {escape(stats['encoding'])} encoding</h3>",
        f'<p class="note">{stats["runs"]} run(s), population {stats["population_size"]}, '
        f"{stats['generations']} generations; {stats['runs_with_every_class_at_top']} of "
        f"{stats['runs']} run(s) put every class at >= {top}; median final confidence "
        f"{percent(stats['median_final_confidence'])}"
        + (f"; network test accuracy {percent(accuracy)}" if accuracy is not None else "")
        + (
            f"; {stats['generations_per_second_mean']:.1f} generations/s"
            if stats["generations_per_second_mean"]
            else ""
        )
        + "</p>",
    ]
    if stats["departures"]:
        lines.append(
            f'<p class="note"><b>Departures:</b> {escape("; ".join(stats["departures"]))}</p>'
        )
    lines.append(table(header, [(css or c, r) for c, r in rows]))
    run_index = min(int(settings.get("grid_run", 0)), len(experiment.runs) - 1)
    shown = min(int(settings.get("max_grid_classes", 20)), len(experiment.classes))
    titles = [
        f"{int(c)}: {plots.confidence_text(p)}"
        for c, p in zip(
            experiment.classes[:shown], experiment.elite_confidence[run_index][:shown], strict=True
        )
    ]
    low = float(experiment.attrs.get("pixel_low", 0.0))
    high = float(experiment.attrs.get("pixel_high", 1.0))
    grid = plots.image_grid(
        experiment.elites[run_index][:shown],
        titles,
        low,
        high,
        suptitle=f"elites of run {experiment.runs[run_index]} (class: confidence)",
    )
    lines.append(figures.img(png(grid), f"{name}_elites", f"elite images of {name}"))
    curves = plots.confidence_curves(
        experiment.histories[:, :, :shown],
        [int(c) for c in experiment.classes[:shown]],
        [float(t) for t in experiment.thresholds],
        title="best confidence per class (median and range over runs)",
    )
    lines.append(
        figures.img(png(curves), f"{name}_confidence", f"confidence against generation, {name}")
    )
    lines.append("</section>")
    return "\n".join(lines)


OVERVIEW_HEADER = [
    "experiment",
    "network",
    "encoding",
    "runs x generations",
    "classes at >= 99.99%",
    "runs with all classes",
    "median generation",
    "last class",
    "median final confidence",
    "departures from the paper",
]


def overview_row(name: str, stats: Mapping[str, Any]) -> tuple[str, list[str]]:
    top = stats["thresholds"][_top(stats)]
    return (
        "random" if not stats["comparable"] else "",
        [
            name,
            str(stats["model_label"]),
            str(stats["encoding"]),
            f"{stats['runs']} x {stats['generations']}",
            percent(stats["fraction_at_top_mean"]),
            f"{stats['runs_with_every_class_at_top']} / {stats['runs']}",
            number(top["median_generation"], 0),
            number(top["max_generation"], 0),
            plots.confidence_text(stats["median_final_confidence"]),
            "; ".join(stats["departures"]) or "—",
        ],
    )


def paper_rows(datasets: set[str]) -> list[tuple[str, list[str]]]:
    """The paper's rows for the datasets shown."""
    rows = []
    if "mnist" in datasets:
        rows.append(
            (
                "paper",
                [
                    paper.PAPER_LABEL,
                    "MNIST LeNet",
                    "direct and CPPN",
                    "—",
                    percent(paper.MNIST_FRACTION_AT_9999),
                    "every run",
                    "",
                    f"within ~{paper.MNIST_GENERATIONS_TO_9999}",
                    "",
                    "",
                ],
            )
        )
    if "imagenet" in datasets:
        for encoding, median in (
            ("direct", paper.IMAGENET_DIRECT_MEDIAN),
            ("CPPN", paper.IMAGENET_CPPN_MEDIAN),
        ):
            rows.append(
                (
                    "paper",
                    [
                        paper.PAPER_LABEL,
                        "their ImageNet network",
                        encoding,
                        f"x {paper.IMAGENET_GENERATIONS}",
                        "",
                        "",
                        "",
                        "",
                        percent(median),
                        "",
                    ],
                )
            )
    return rows


def _spread(start_class: np.ndarray, count: int) -> np.ndarray:
    """Up to ``count`` indices, half from noise starts and half from image starts."""
    noise = np.flatnonzero(start_class < 0)
    image = np.flatnonzero(start_class >= 0)
    if len(noise) and len(image):
        half = count // 2
        return np.concatenate([noise[: count - min(half, len(image))], image[:half]])
    return np.arange(min(count, len(start_class)))


def ascend_html(
    name: str,
    summary: Mapping[str, Any],
    arrays: Mapping[str, np.ndarray],
    attrs: Mapping[str, Any],
    figures: Figures,
) -> str:
    thresholds = [float(t) for t in arrays["thresholds"]]
    header = [
        "start",
        "n",
        *[f">= {threshold_key(t)} (median step)" for t in thresholds],
        "median final",
    ]
    css = "" if summary["comparable"] else "random"
    rows = []
    for kind, record in summary["starts"].items():
        cells = [kind, str(record["n"])]
        for t in thresholds:
            reached = record["thresholds"][threshold_key(t)]
            cells.append(f"{percent(reached['fraction'])} ({number(reached['median_step'], 0)})")
        cells.append(percent(record["median_final_confidence"]))
        rows.append((css, cells))
    lines = [
        f'<section class="experiment"><h3>{escape(name)}: gradient ascent on '
        f"{escape(summary['model_label'])}</h3>",
        f'<p class="note">score {escape(summary["score"])}, steps {escape(summary["lr_policy"])}, '
        f"{summary['steps']} steps, L2 decay {summary['l2_decay']:g} (the authors: "
        f"{paper.ASCENT_STEPS} steps, decay {paper.ASCENT_L2_DECAY:g})"
        + ("" if summary["comparable"] else "; random weights: not comparable to the paper")
        + "</p>",
        table(header, rows),
    ]
    count = min(10, len(arrays["images"]))
    picked = _spread(arrays["start_class"], count)
    low, high = float(attrs.get("pixel_low", 0.0)), float(attrs.get("pixel_high", 1.0))
    top = threshold_key(thresholds[-1])
    start_titles = [
        "noise" if int(arrays["start_class"][i]) < 0 else f"digit {int(arrays['start_class'][i])}"
        for i in picked
    ]
    steps = arrays["threshold_step"][-1]
    first_titles = [
        f"-> {int(arrays['target_classes'][i])} at step {int(steps[i])}"
        if steps[i] >= 0
        else f"-> {int(arrays['target_classes'][i])}: not reached"
        for i in picked
    ]
    final_titles = [
        f"step {summary['steps']}: {plots.confidence_text(arrays['final_confidence'][i])}"
        for i in picked
    ]
    images = np.concatenate(
        [
            arrays["start_images"][picked],
            arrays["threshold_images"][-1][picked],
            arrays["images"][picked],
        ]
    )
    grid = plots.image_grid(
        images,
        start_titles + first_titles + final_titles,
        low,
        high,
        columns=len(picked),
        suptitle=f"start; the first image at >= {top}; the image after the last step",
    )
    lines.append(figures.img(png(grid), f"{name}_ascent", f"gradient ascent images, {name}"))
    lines.append("</section>")
    return "\n".join(lines)


def retrain_html(name: str, summary: Mapping[str, Any]) -> str:
    top = threshold_key(summary["top_threshold"])
    header = [
        "round",
        "test accuracy",
        "fooling images trained on",
        "earlier fooling images recognised",
        f"classes at >= {top}",
        "median generation",
        "median final confidence",
    ]
    rows = [
        (
            "",
            [
                str(r["round"]),
                percent(r["test_accuracy"]),
                str(r["fooling_train_images"]),
                percent(r["fooling_recognised"]),
                percent(r["fraction_at_top"]),
                number(r["median_generation_to_top"], 0),
                percent(r["median_final_confidence"]),
            ],
        )
        for r in summary["rounds"]
    ]
    rows.append(("paper", [paper.PAPER_LABEL, "", "", "", paper.STATEMENTS["retrain"], "", ""]))
    still_fooled = summary["still_fooled_after_retraining"]
    if still_fooled is None:
        verdict = (
            f"no conclusion: evolution reached >= {top} for no digit even before retraining "
            "(too few generations at this scale), or there was no retraining round"
        )
    elif still_fooled:
        verdict = f"every retrained network was still fooled at >= {top} (as in the paper)"
    else:
        stopped = [str(r["round"]) for r in summary["rounds"][1:] if r["fraction_at_top"] == 0]
        verdict = (
            f"after retraining, evolution reached >= {top} for no digit in round(s) "
            f"{', '.join(stopped)} (unlike the paper, at this scale)"
        )
    return "\n".join(
        [
            f'<section class="experiment"><h3>{escape(name)}: retraining with a fooling class '
            f"({escape(summary['model_label'])}, {escape(summary['encoding'])})</h3>",
            f'<p class="note">{summary["runs_per_round"]} run(s) per round, population '
            f"{summary['population_size']}, {summary['generations']} generations: "
            f"{escape(verdict)}.</p>",
            table(header, rows),
            "</section>",
        ]
    )


def render(summary: Mapping[str, Any], figures: Figures) -> Section:
    """The section: every table from ``summary``, the pictures from ``figures.artifacts``."""
    artifacts: Artifacts = figures.artifacts
    parts = [
        f"<h2>{escape(TITLE)}</h2>",
        '<p class="note">The paper\'s statements (as recalled in STUDIES.md, seed 001): '
        + escape(" ".join(summary["paper"].values()))
        + " Confidence curves show -log10(1 - p): 2 = 99%, 4 = 99.99%.</p>",
    ]
    over_seeds = seeds_note(summary.get("models", {}))
    if over_seeds:
        parts.append(f'<p class="note">{escape(over_seeds)}.</p>')
    if summary["evolve"]:
        parts.append("<h3>Evolution (MAP-Elites)</h3>")
        overview = [overview_row(name, stats) for name, stats in summary["evolve"].items()]
        overview.extend(paper_rows({stats["dataset"] for stats in summary["evolve"].values()}))
        parts.append(table(OVERVIEW_HEADER, overview))
        experiments = {experiment.name: experiment for experiment in read_evolve(artifacts.evolve)}
        for name, stats in summary["evolve"].items():
            parts.append(evolve_html(name, stats, experiments[name], artifacts.settings, figures))
    if summary["ascend"]:
        parts.append("<h3>Gradient ascent</h3>")
    for path in artifacts.ascend:
        attrs = read_attrs(path)
        name = _ascend_name(attrs)
        arrays = read_arrays(path, ASCEND_KEYS)
        parts.append(ascend_html(name, summary["ascend"][name], arrays, attrs, figures))
    if summary["retrain"]:
        parts.append("<h3>Retraining with the fooling images as an 11th class</h3>")
    for name, record in summary["retrain"].items():
        parts.append(retrain_html(name, record))
    return Section(STUDY, TITLE, "\n".join(parts), dict(summary))

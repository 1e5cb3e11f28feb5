"""The Szegedy study's report section: Tables 1-5 beside the paper, two figures, a summary.

Each of our numbers is aggregated over the seeds a model was trained with:
the **mean**, the **spread** (sample standard deviation; "—" for one seed)
and the **worst** seed, the one least favourable to the network (highest
error, smallest distortion needed to fool it, highest bound). Rows trained on
part of the data or attacked on fewer than 1,000 images say so: such runs
check the machinery, they are not comparable with the paper. Paper numbers
carry their source (``paper.py``).

:func:`summarise` reads the artifacts into the summary; :func:`render` draws the section
from it (:mod:`fooled.report.study`). Reads HDF5 only (no TensorFlow).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from fooled.core import h5io
from fooled.core.stage import Job, as_paths
from fooled.report.html import Figures, escape, number, percent, png, table
from fooled.report.sections import Section
from fooled.studies.szegedy import paper
from fooled.studies.szegedy.settings import STUDY

TITLE = "Szegedy et al. (2014): adversarial examples by box-constrained L-BFGS"
TRANSFER_NOTE = (
    "<p class='note'>Cells: ours, mean ± spread [worst seed] (paper). Errors count the "
    "examples whose clean image "
    "the column model classifies correctly, so the diagonal is the attack's success rate.</p>"
)
TRANSFER_TABLES = (
    (
        "table2",
        "Table 2: cross-model transfer (error of each column model on the row's examples)",
        paper.TABLE2,
        paper.TABLE2_COLUMNS,
    ),
    (
        "table4",
        "Table 4: cross-training-set transfer (A, B on P1; C on P2)",
        paper.TABLE4,
        paper.TABLE4_COLUMNS,
    ),
)
PAPER_SCALE_IMAGES = 1000
FIGURE_EXAMPLES = 6
MAGNIFY = 10.0


@dataclass(frozen=True)
class Artifacts:
    """The study's artifacts (any of the later stages may be absent) and its model instances
    (``name``, ``seed`` and the experiment's settings: what the tables group by)."""

    instances: Sequence[Mapping[str, Any]]
    metrics: Sequence[str]
    attacks: Sequence[str]
    transfer: str | None = None
    # the same attack on each model's own training images (Table 1's), if in the run
    train_attacks: Sequence[str] = field(default_factory=list)
    adversarial: Sequence[str] = field(default_factory=list)
    units: str | None = None
    bounds: str | None = None


def artifacts_of(job: Job) -> Artifacts:
    """Rule ``szegedy_report``'s inputs ``metrics``, ``attacks``, optional ``transfer``,
    ``adversarial``, ``units``, ``bounds``, and params ``models`` (the instances)."""
    models = job.params.models
    return Artifacts(
        instances=[dict(models)] if isinstance(models, Mapping) else [dict(m) for m in models],
        metrics=as_paths(job.input.metrics),
        attacks=as_paths(job.input.attacks),
        transfer=job.input.get("transfer"),
        train_attacks=as_paths(job.input.get("train_attacks")),
        adversarial=as_paths(job.input.get("adversarial")),
        units=job.input.get("units"),
        bounds=job.input.get("bounds"),
    )


# ----------------------------------------------------------------------------- statistics


def aggregate(values: Sequence[float], worst: str) -> dict[str, Any]:
    """Mean, spread (sample sd), worst (``max`` or ``min``) and the values, NaNs left out."""
    data = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not data:
        return {"mean": None, "spread": None, "worst": None, "n_seeds": 0, "values": []}
    return {
        "mean": float(np.mean(data)),
        "spread": float(np.std(data, ddof=1)) if len(data) > 1 else None,
        "worst": float(max(data) if worst == "max" else min(data)),
        "n_seeds": len(data),
        "values": data,
    }


def _cell(stat: Mapping[str, Any], fmt, paper_value: Any = None) -> str:
    """``mean ± spread [worst]`` and, when given, ``(paper p)``."""
    if stat["mean"] is None:
        text = "—"
    else:
        text = fmt(stat["mean"])
        if stat["spread"] is not None:
            text += f" ± {fmt(stat['spread'])} [{fmt(stat['worst'])}]"
    if paper_value is not None:
        text += f" (paper {fmt(paper_value)})"
    return text


def _distortion(value: Any) -> str:
    return number(value, 3)


def _p_value(value: Any) -> str:
    """Three decimals, or scientific below 0.001 (a permutation p-value is never 0)."""
    return number(value, 3) if value is None or float(value) >= 1e-3 else f"{float(value):.1e}"


def _matrix_stats(stack: np.ndarray, worst: str) -> list[list[dict[str, Any]]]:
    """Per cell of ``stack`` (seeds x rows x columns): :func:`aggregate` over the seeds."""
    return [
        [aggregate(stack[:, i, j], worst) for j in range(stack.shape[2])]
        for i in range(stack.shape[1])
    ]


# ----------------------------------------------------------------------------- inputs


def _by_instance(paths: Sequence[str]) -> dict:
    """``{(name, seed): (path, attrs)}`` read from each artifact's own attributes (not the
    list order)."""
    found = {}
    for path in paths:
        attrs = h5io.read_attrs(path)
        found[(attrs["model"], int(attrs["seed"]))] = (path, attrs)
    return found


def _experiments(instances: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Experiment name -> its settings and seeds, in list order."""
    experiments: dict[str, dict[str, Any]] = {}
    for instance in instances:
        entry = experiments.setdefault(instance["name"], {**instance, "seeds": []})
        entry["seeds"].append(int(instance["seed"]))
    return experiments


def _scale_note(settings: Mapping[str, Any]) -> str:
    if settings.get("max_train_samples") is None:
        return ""
    return (
        f"quick scale: {settings['max_train_samples']} training images, "
        f"{settings['epochs']} epochs (not comparable)"
    )


# ----------------------------------------------------------------------------- summarise


def _table1(experiments, metrics, attacks, train_attacks=None) -> dict[str, Any]:
    """Table 1's rows: errors, and the attack's success and distortion on test images and,
    where the run attacked them (``train_attacks``), on the model's training images."""
    train_attacks = train_attacks or {}
    summary = {}
    for name, settings in experiments.items():
        if settings.get("table") != "table1":
            continue
        label = settings.get("paper_row") or name
        found_metrics = [metrics[(name, s)][1] for s in settings["seeds"] if (name, s) in metrics]
        found_attacks = [attacks[(name, s)][1] for s in settings["seeds"] if (name, s) in attacks]
        stats = {
            "train_error": aggregate([m["train_error"] for m in found_metrics], "max"),
            "test_error": aggregate([m["test_error"] for m in found_metrics], "max"),
            "success_rate": aggregate([a["success_rate"] for a in found_attacks], "min"),
            "distortion": aggregate([a["mean_distortion"] for a in found_attacks], "min"),
        }
        found_train = [
            train_attacks[(name, s)][1] for s in settings["seeds"] if (name, s) in train_attacks
        ]
        if found_train:
            stats["train_success_rate"] = aggregate([a["success_rate"] for a in found_train], "min")
            stats["train_distortion"] = aggregate(
                [a["mean_distortion"] for a in found_train], "min"
            )
            stats["n_train_images"] = min(int(a["n_images"]) for a in found_train)
        n_images = min((int(a["n_images"]) for a in found_attacks), default=0)
        note = _scale_note(settings)
        if 0 < n_images < PAPER_SCALE_IMAGES:
            note = "; ".join(filter(None, [note, f"{n_images} attacked images"]))
        summary[label] = {
            "experiment": name,
            **stats,
            "n_images": n_images,
            "note": note,
            "paper": paper.TABLE1.get(label, {}),
        }
    return summary


def _transfer(transfer_path: str | None) -> dict[str, Any]:
    """Tables 2 and 4: every cell aggregated over the seeds."""
    if not transfer_path:
        return {}
    attrs = h5io.read_attrs(transfer_path)
    summary: dict[str, Any] = {}
    for table_name, *_ in TRANSFER_TABLES:
        if f"{table_name}_rows" not in attrs:
            continue
        rows = attrs[f"{table_name}_rows"]
        data = h5io.read_arrays(
            transfer_path,
            [f"{table_name}/errors", f"{table_name}/distortion", f"{table_name}/counts"],
        )
        summary[table_name] = {
            "rows": rows,
            "columns": attrs[f"{table_name}_columns"],
            "errors": _matrix_stats(data[f"{table_name}/errors"], "max"),
            "distortion": [
                aggregate(data[f"{table_name}/distortion"][:, i], "min") for i in range(len(rows))
            ],
            "counts": data[f"{table_name}/counts"].tolist(),
            "seeds": [int(seed) for seed in np.atleast_1d(attrs["seeds"])],
        }
    return summary


def _table3(experiments, metrics) -> dict[str, Any]:
    summary = {}
    for name, settings in experiments.items():
        if settings.get("table") != "cross_training":
            continue
        found = [metrics[(name, s)][1] for s in settings["seeds"] if (name, s) in metrics]
        stats = {
            key: aggregate([m[key] for m in found], "max")
            for key in ("error_p1", "error_p2", "test_error")
        }
        label = settings.get("paper_row") or f"{name} ({settings['training_set']})"
        summary[label] = {"experiment": name, "training_set": settings["training_set"], **stats}
    return summary


def _table5(bounds_path: str | None, experiments) -> dict[str, Any]:
    if not bounds_path:
        return {}
    attrs = h5io.read_attrs(bounds_path)
    summary: dict[str, Any] = {"alexnet_paper": paper.TABLE5}
    if attrs.get("vgg16"):
        summary["vgg16"] = attrs["vgg16"]
    grouped: dict[str, list[dict[str, Any]]] = {}
    for record in attrs["models"]:
        grouped.setdefault(record["model"], []).append(record)
    mnist_summary = {}
    for name, found in grouped.items():
        label = experiments.get(name, {}).get("paper_row") or name
        layers = found[0]["layers"]
        mnist_summary[label] = {
            "experiment": name,
            "layers": [layer["layer"] for layer in layers],
            "layer_bounds_with_activation": [
                aggregate(
                    [r["layers"][k]["bound"] * r["layers"][k]["activation"] for r in found], "max"
                )
                for k in range(len(layers))
            ],
            "network_bound": aggregate([r["network_bound"] for r in found], "max"),
            "max_measured_ratio": aggregate([r["max_ratio"] for r in found], "max"),
        }
    summary["mnist"] = mnist_summary
    return summary


ADVERSARIAL_KEYS = {
    "test_error": "max",
    "base_test_error": "max",
    "error_on_base_examples": "min",
    "fresh_mean_distortion": "min",
    "base_fresh_mean_distortion": "min",
}


def _adversarial(paths: Sequence[str]) -> dict[str, Any]:
    if not paths:
        return {}
    found = [h5io.read_attrs(path) for path in paths]
    stats = {
        key: aggregate([f[key] for f in found], worst) for key, worst in ADVERSARIAL_KEYS.items()
    }
    return {**stats, "paper": paper.ADVERSARIAL_TRAINING}


def _unit_groups(results: Sequence[Mapping[str, Any]]) -> dict[tuple[str, str], list]:
    grouped: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for record in results:
        grouped.setdefault((record["model"], record["layer"]), []).append(record)
    return grouped


def _unit_key(experiments, name: str, layer: str) -> str:
    return f"{experiments.get(name, {}).get('paper_row') or name} {layer}"


def _units(units_path: str | None, experiments) -> dict[str, Any]:
    if not units_path:
        return {}
    summary = {}
    for (name, layer), found in _unit_groups(h5io.read_attrs(units_path)["results"]).items():
        stats = {
            key: aggregate([r[key] for r in found], worst)
            for key, worst in (
                ("purity_units_mean", "max"),
                ("purity_directions_mean", "max"),
                ("p_value", "min"),
                ("chance", "max"),
            )
        }
        summary[_unit_key(experiments, name, layer)] = {
            "experiment": name,
            "layer": layer,
            **stats,
        }
    return summary


def summarise(artifacts: Artifacts) -> dict[str, Any]:
    """The study's part of ``summary.json`` from its artifacts."""
    experiments = _experiments(artifacts.instances)
    metrics = _by_instance(artifacts.metrics)
    return {
        "table1": _table1(
            experiments,
            metrics,
            _by_instance(artifacts.attacks),
            _by_instance(artifacts.train_attacks),
        ),
        "transfer": _transfer(artifacts.transfer),
        "table3": _table3(experiments, metrics),
        "table5": _table5(artifacts.bounds, experiments),
        "adversarial_training": _adversarial(artifacts.adversarial),
        "units": _units(artifacts.units, experiments),
        "paper": paper.summary(),
    }


# ----------------------------------------------------------------------------- render


def _table1_html(table1: Mapping[str, Any]) -> str:
    header = (
        "model",
        "seeds",
        "train error",
        "test error",
        "attack success, training / test images",
        "mean min. distortion, training images",
        "mean min. distortion, test images",
        "images / model, training / test",
        "note",
    )
    rows = []
    for label, record in table1.items():
        reference = record["paper"]
        train = "train_distortion" in record
        rows.append(
            (
                "random" if record["note"] else "",
                [
                    label,
                    str(record["train_error"]["n_seeds"]),
                    _cell(record["train_error"], percent, reference.get("train_error")),
                    _cell(record["test_error"], percent, reference.get("test_error")),
                    (_cell(record["train_success_rate"], percent) if train else "-")
                    + " / "
                    + _cell(record["success_rate"], percent),
                    # the paper's distortions are over the training set
                    _cell(record["train_distortion"], _distortion, reference.get("distortion"))
                    if train
                    else f"- (paper {_distortion(reference['distortion'])})"
                    if reference.get("distortion") is not None
                    else "-",
                    _cell(record["distortion"], _distortion),
                    f"{record.get('n_train_images', 0)} / {record['n_images']}",
                    record["note"],
                ],
            )
        )
    return table(header, rows)


def _transfer_html(transfer: Mapping[str, Any]) -> dict[str, str]:
    """Tables 2 and 4 as HTML, by table."""
    parts: dict[str, str] = {}
    for table_name, title, paper_rows, paper_columns in TRANSFER_TABLES:
        if table_name not in transfer:
            continue
        record = transfer[table_name]
        columns, errors, distortion = record["columns"], record["errors"], record["distortion"]
        paper_index = _paper_columns(columns, paper_columns, table_name)
        body = []
        for i, row in enumerate(record["rows"]):
            paper_row = paper_rows.get(_paper_row_key(row, table_name))
            cells = [row]
            for j in range(len(columns)):
                reference = None
                if paper_row is not None and paper_index[j] is not None:
                    reference = paper_row["errors"][paper_index[j]]
                cells.append(_cell(errors[i][j], percent, reference))
            cells.append(
                _cell(distortion[i], _distortion, paper_row["distortion"] if paper_row else None)
            )
            body.append(("agg" if row.startswith("Gaussian") else "", cells))
        parts[table_name] = (
            f"<h3>{escape(title)}</h3>"
            + TRANSFER_NOTE
            + table(("examples", *columns, "distortion"), body)
        )
    return parts


def _paper_row_key(row: str, table_name: str) -> str:
    if table_name == "table2" and row.startswith("for "):
        return row[len("for ") :]
    return row


def _paper_columns(columns: Sequence[str], paper_columns: Sequence[str], table_name: str) -> list:
    if table_name == "table4":
        # The cross-training trio in configured order is A (P1), B (P1), C (P2).
        return (
            list(range(len(columns)))
            if len(columns) == len(paper_columns)
            else [None] * len(columns)
        )
    return [paper_columns.index(c) if c in paper_columns else None for c in columns]


def _table3_html(table3: Mapping[str, Any], experiments) -> str:
    if not table3:
        return ""
    paper_rows = list(paper.TABLE3.items())
    body = []
    for position, (label, stats) in enumerate(table3.items()):
        note = _scale_note(experiments[stats["experiment"]])
        reference = paper_rows[position][1]["errors"] if position < len(paper_rows) else (None,) * 3
        body.append(
            (
                "random" if note else "",
                [
                    label,
                    _cell(stats["error_p1"], percent, reference[0]),
                    _cell(stats["error_p2"], percent, reference[1]),
                    _cell(stats["test_error"], percent, reference[2]),
                    note,
                ],
            )
        )
    return (
        "<h3>Table 3: the cross-training-set models</h3>"
        f"<p class='note'>Paper column: {escape(paper.TABLE3_SOURCE)}.</p>"
        + table(("model", "error on P1", "error on P2", "test error", "note"), body)
    )


def _bounds_rows(layers: Sequence[Mapping[str, Any]], css: str) -> list[tuple[str, list[str]]]:
    return [
        (css, [r["layer"], r["size"], str(r["stride"] or "—"), number(r["bound"], 2)])
        for r in layers
    ]


def _table5_html(table5: Mapping[str, Any]) -> str:
    if not table5:
        return ""
    header = ("layer", "size", "stride", "upper bound")
    parts = ["<h3>Table 5: upper Lipschitz bounds (operator norms)</h3>"]
    parts.append("<p class='note'>AlexNet (paper):</p>")
    parts.append(table(header, _bounds_rows(table5["alexnet_paper"], "paper")))
    vgg = table5.get("vgg16")
    if vgg:
        comparable = vgg.get("comparable")
        note = "" if comparable else " — random weights, not comparable"
        parts.append(
            f"<p class='note'>VGG-16 ({escape(vgg['weights'])} weights, "
            f"{vgg['input_size']}x{vgg['input_size']} input){escape(note)}; whole network "
            f"{number(vgg['network_bound'], 4, grouped=True)}:</p>"
        )
        parts.append(table(header, _bounds_rows(vgg["layers"], "" if comparable else "random")))
    body = [
        (
            "",
            [
                label,
                ", ".join(
                    f"{layer} {number(stat['mean'], 2)}"
                    for layer, stat in zip(
                        record["layers"], record["layer_bounds_with_activation"], strict=True
                    )
                ),
                _cell(record["network_bound"], lambda v: number(v, 2)),
                _cell(record["max_measured_ratio"], lambda v: number(v, 2)),
            ],
        )
        for label, record in table5["mnist"].items()
    ]
    parts.append(
        "<p class='note'>MNIST models: each layer's operator norm times its activation's "
        "Lipschitz constant (sigmoid 1/4), the whole network's bound (pixels to logits), and the "
        "largest measured ratio |f(x + r) - f(x)| / |r| at the L-BFGS examples, which never "
        "exceeds the bound:</p>"
    )
    parts.append(table(("model", "layers", "network bound", "largest measured ratio"), body))
    return "".join(parts)


def _adversarial_html(stats: Mapping[str, Any]) -> str:
    if not stats:
        return ""
    body = [
        (
            "",
            [
                "weight decay only (plain)",
                _cell(
                    stats["base_test_error"], percent, paper.ADVERSARIAL_TRAINING["weight_decay"]
                ),
                "100% (its own examples)",
                _cell(stats["base_fresh_mean_distortion"], _distortion),
            ],
        ),
        (
            "",
            [
                "with a pool of L-BFGS examples",
                _cell(stats["test_error"], percent, paper.ADVERSARIAL_TRAINING["adversarial"]),
                _cell(stats["error_on_base_examples"], percent),
                _cell(stats["fresh_mean_distortion"], _distortion),
            ],
        ),
    ]
    return (
        "<h3>Adversarial training (FC100-100-10)</h3>"
        f"<p class='note'>Paper: {escape(paper.ADVERSARIAL_TRAINING_NOTE)}; 1.6% with weight "
        "decay, 1.3% with dropout. Third column: error on the plain model's successful "
        "adversarial examples. Last column: mean minimal distortion of fresh L-BFGS examples "
        "against each model (larger: harder to fool).</p>"
        + table(
            ("model", "test error", "error on plain model's examples", "fresh min. distortion"),
            body,
        )
    )


def _units_html(units: Mapping[str, Any], units_path: str | None, experiments) -> str:
    """The units table: each row's statistics from the summary; the counts that the caption
    and the second column give (images, units, directions, k) from the units artifact."""
    if not units_path:
        return ""
    attrs = h5io.read_attrs(units_path)
    results = attrs["results"]
    body = []
    for (name, layer), found in _unit_groups(results).items():
        key = _unit_key(experiments, name, layer)
        stats = units[key]
        body.append(
            (
                "",
                [
                    key,
                    f"{found[0]['n_units']} / {found[0]['n_directions']}",
                    _cell(stats["purity_units_mean"], lambda v: number(v, 3)),
                    _cell(stats["purity_directions_mean"], lambda v: number(v, 3)),
                    _cell(stats["p_value"], _p_value),
                    _cell(stats["chance"], lambda v: number(v, 3)),
                ],
            )
        )
    k = results[0]["k"] if results else 0
    return (
        "<h3>Units versus random directions (label purity of the top-k test images)</h3>"
        f"<p class='note'>The paper (seed: {escape(paper.UNITS_CLAIM)}) shows pictures only. "
        f"Purity: share of the most common label among the top {k} test images of "
        f"{attrs['n_images']} by a unit's activation or by the projection on a random direction; "
        "p: two-sided permutation test on the difference of the means (a large p means no "
        "detectable difference); chance: purity of k random images.</p>"
        + table(
            (
                "layer",
                "units / directions",
                "purity (units)",
                "purity (directions)",
                "p-value",
                "chance",
            ),
            body,
        )
    )


def _purity_figure(units_path: str, results, experiments) -> str:
    if not results:
        return ""
    seeds = sorted({r["seed"] for r in results})
    first = [r for r in results if r["seed"] == seeds[0]]
    names = [f"{r['model']}/seed{r['seed']}/{r['layer']}" for r in first]
    data = h5io.read_arrays(
        units_path,
        [f"{n}/purity_units" for n in names] + [f"{n}/purity_directions" for n in names],
    )
    figure = Figure(figsize=(max(4.0, 1.3 * len(first) + 1.5), 3.4))
    ax = figure.subplots()
    positions = np.arange(len(first)) * 3.0
    ax.boxplot(
        [data[f"{n}/purity_units"] for n in names],
        positions=positions,
        widths=0.8,
        patch_artist=True,
        boxprops={"facecolor": "#9ecae1"},
    )
    ax.boxplot(
        [data[f"{n}/purity_directions"] for n in names],
        positions=positions + 1.0,
        widths=0.8,
        patch_artist=True,
        boxprops={"facecolor": "#fdae6b"},
    )
    for position, record in zip(positions, first, strict=True):
        ax.hlines(record["chance"], position - 0.5, position + 1.5, colors="gray", linestyles=":")
    ax.set_xticks(positions + 0.5)
    ax.set_xticklabels(
        [
            f"{experiments.get(r['model'], {}).get('paper_row') or r['model']}\n{r['layer']}"
            for r in first
        ],
        fontsize=7,
    )
    ax.set_ylabel(f"top-{first[0]['k']} label purity")
    ax.set_title(
        f"units (blue) vs random directions (orange), seed {seeds[0]}; dotted: chance", fontsize=8
    )
    figure.tight_layout()
    return png(figure)


# ----------------------------------------------------------------------------- examples figure


def examples_figure(
    attack_paths: Sequence[tuple[str, str]], n_examples: int = FIGURE_EXAMPLES
) -> str:
    """Originals, adversarial examples and their differences magnified 10x, one block per model."""
    if not attack_paths:
        return ""
    figure = Figure(figsize=(1.1 * n_examples + 1.2, 3.3 * len(attack_paths) / 1.0))
    axes = figure.subplots(3 * len(attack_paths), n_examples, squeeze=False)
    for block, (label, path) in enumerate(attack_paths):
        data = h5io.read_arrays(
            path, ["images", "adversarial", "success", "labels", "targets", "distortion"]
        )
        chosen = np.flatnonzero(data["success"])[:n_examples]
        for column in range(n_examples):
            for row in range(3):
                ax = axes[3 * block + row, column]
                ax.set_xticks([])
                ax.set_yticks([])
                if column >= len(chosen):
                    ax.axis("off")
                    continue
                i = chosen[column]
                if row == 0:
                    picture = data["images"][i]
                    ax.set_title(f"{data['labels'][i]}", fontsize=7)
                elif row == 1:
                    picture = data["adversarial"][i]
                    ax.set_title(
                        f"→ {data['targets'][i]} ({data['distortion'][i]:.3f})", fontsize=7
                    )
                else:
                    picture = np.clip(
                        0.5 + MAGNIFY * (data["adversarial"][i] - data["images"][i]), 0.0, 1.0
                    )
                ax.imshow(picture, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
            axes[3 * block, 0].set_ylabel(f"{label}\noriginal", fontsize=7)
            axes[3 * block + 1, 0].set_ylabel("adversarial", fontsize=7)
            axes[3 * block + 2, 0].set_ylabel("difference x10", fontsize=7)
    figure.tight_layout()
    return png(figure)


def render(summary: Mapping[str, Any], figures: Figures) -> Section:
    """The section: every table from ``summary``, the pictures (and the units' counts) from
    ``figures.artifacts``."""
    artifacts: Artifacts = figures.artifacts
    experiments = _experiments(artifacts.instances)
    transfer_html = _transfer_html(summary["transfer"])
    purity_plot = ""
    if artifacts.units:
        results = h5io.read_attrs(artifacts.units)["results"]
        purity_uri = _purity_figure(artifacts.units, results, experiments)
        if purity_uri:
            purity_plot = figures.img(
                purity_uri, "units_purity", "label purity of units and random directions"
            )
    attacks = _by_instance(artifacts.attacks)
    first_seed = min((int(i["seed"]) for i in artifacts.instances), default=0)
    figure_paths = [
        (settings.get("paper_row") or name, attacks[(name, first_seed)][0])
        for name, settings in experiments.items()
        if settings.get("table") == "table1" and (name, first_seed) in attacks
    ]
    examples_uri = examples_figure(figure_paths)
    figure = (
        figures.img(
            examples_uri,
            "adversarial_examples",
            "originals, adversarial examples and differences magnified 10x",
        )
        if examples_uri
        else ""
    )
    html = "".join(
        [
            f"<h2>{escape(TITLE)}</h2>",
            "<p class='note'>Targeted L-BFGS: minimise c·D(r)² + cross-entropy(f(x + r), l) "
            "with x + r in [0, 1] (a batched box-constrained L-BFGS), with a per-image search "
            "for the largest c that still reaches l; D(r) = sqrt(sum(r²)/n). Cells: mean ± "
            "spread [worst seed] (paper). Italic grey rows are at a quick scale.</p>",
            "<h3>Table 1: MNIST models, errors and minimal distortion</h3>",
            _table1_html(summary["table1"]),
            transfer_html.get("table2", ""),
            _table3_html(summary["table3"], experiments),
            transfer_html.get("table4", ""),
            _adversarial_html(summary["adversarial_training"]),
            _units_html(summary["units"], artifacts.units, experiments),
            purity_plot,
            _table5_html(summary["table5"]),
            "<h3>Adversarial examples</h3>" if figure else "",
            "<p class='note'>Per model (first seed): originals (true label), adversarial "
            "examples (target, distortion), and the difference magnified 10x around grey.</p>"
            if figure
            else "",
            figure,
        ]
    )
    return Section(STUDY, TITLE, html, dict(summary))

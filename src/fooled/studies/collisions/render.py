"""The HTML of the two collision sections, drawn from their summaries (:mod:`.summary`).

It shows the paper's Table 1 case beside the paper's row and the same columns
over every experiment that was run, says plainly where the optimisation did
not reach the paper's stopping criterion, and adds the exact polytopes,
Tables 2-4 and the patch index when they were run. Figures (corners, loss
curves, control weights) are drawn from the experiments' artifacts.
The study report modules (:mod:`.mnist_report`, :mod:`.imagenet_report`) call it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from fooled.core.h5io import ArtifactError, read_arrays
from fooled.report.html import (
    Figures,
    escape,
    number,
    percent,
    probability,
    scientific,
    table,
)
from fooled.studies.collisions import tables_imagenet
from fooled.studies.collisions.figures import (
    curves_figure,
    images_figure,
    lp_corners_figure,
    macro_figure,
    overview_figure,
)
from fooled.studies.collisions.paper import PAPER_TABLE1
from fooled.studies.collisions.summary import PathLike, is_mnist_micro

_TABLE1_HEADER = (
    "case",
    "mean dist. dataset",
    "mean dist. optimised",
    "top-class acc. (interp.)",
    "top-class prob. target / interp.",
    "test acc.",
)


def _model_accuracy(summary: Mapping[str, Any], record: Mapping[str, Any]) -> float | None:
    models = summary.get("model", {})
    if record.get("model") in models:
        return models[record["model"]]["test_accuracy"]
    if len(models) == 1:
        return next(iter(models.values()))["test_accuracy"]
    return None


def _table1_cells(label: str, record: Mapping[str, Any], test_accuracy: Any) -> list[str]:
    return [
        label,
        number(record.get("dist_dataset_mean")),
        number(record.get("dist_corners_mean")),
        percent(record.get("interp_top_class_accuracy")),
        f"{probability(record.get('target_prob'))} / {probability(record.get('interp_prob_mean'))}",
        percent(test_accuracy),
    ]


def _paper_cells() -> list[str]:
    paper = PAPER_TABLE1
    return [
        'paper, Table 1 (MNIST "3" → "7", micro)',
        number(paper["dist_dataset_mean"]),
        number(paper["dist_corners_mean"]),
        percent(paper["interp_top_class_accuracy"]),
        f"{paper['target_prob']:.1f} / {paper['interp_prob_mean']:.1f}",
        percent(paper["test_accuracy"]),
    ]


def _all_experiments_table(summary: Mapping[str, Any]) -> str:
    """Every experiment's row, then mean, std and worst case over all of them."""
    header = (
        "experiment",
        "seed → target",
        "w_pos",
        "mean dist. dataset",
        "mean dist. optimised",
        "ratio",
        "top-class acc.",
        "prob. target",
        "prob. interp.",
        "corners converged",
        "certified: gradient / LP",
        "steps",
        "seconds",
    )
    rows: list[tuple[str, Sequence[str]]] = []
    for name, r in summary["experiments"].items():
        if not is_mnist_micro(r):
            continue  # macro and ImageNet experiments have their own tables
        all_converged = r["corners_converged"] == r["n_corners"]
        rows.append(
            (
                "" if all_converged else "bad",
                [
                    name,
                    f"{r['seed_class']} → {r['target_class']}",
                    f"{r['w_pos']:g}",
                    number(r["dist_dataset_mean"]),
                    number(r["dist_corners_mean"]),
                    number(r.get("dist_ratio"), 3),
                    percent(r["interp_top_class_accuracy"]),
                    probability(r["target_prob"]),
                    probability(r["interp_prob_mean"]),
                    f"{r['corners_converged']}/{r['n_corners']}",
                    _certified_cell(r.get("exact")),
                    str(r["steps_run"]),
                    number(r["seconds"], 1),
                ],
            )
        )
    agg = summary["aggregate"]

    def stat_row(label: str, stat: str) -> list[str]:
        def a(column: str) -> Any:
            return agg[column][stat]

        return [
            label,
            "",
            "",
            number(a("dist_dataset_mean")),
            number(a("dist_corners_mean")),
            number(a("dist_ratio"), 3),
            percent(a("interp_top_class_accuracy")),
            probability(a("target_prob")),
            probability(a("interp_prob_mean")),
            number(a("corners_converged"), 2),
            "",
            number(a("steps_run"), 0),
            number(a("seconds"), 1),
        ]

    rows.append(("agg", stat_row("mean", "mean")))
    rows.append(("agg", stat_row("std", "std")))
    worst = [
        "worst case",
        "",
        "",
        number(agg["dist_dataset_mean"]["min"]),
        number(agg["dist_corners_mean"]["max"]),
        number(agg["dist_ratio"]["max"], 3),
        percent(agg["interp_top_class_accuracy"]["min"]),
        probability(agg["target_prob"]["min"]),
        probability(agg["interp_prob_mean"]["min"]),
        number(agg["corners_converged"]["min"], 0),
        "",
        number(agg["steps_run"]["max"], 0),
        number(agg["seconds"]["max"], 1),
    ]
    rows.append(("agg", worst))
    return table(header, rows)


def _certified_cell(exact: Mapping[str, Any] | None) -> str:
    """``gradient k/n, LP k/n`` certified corners; a dash where no LP was run (not fc1)."""
    if not exact:
        return "—"
    gradient = exact["gradient"]
    return (
        f"{gradient['certified']}/{gradient['n_corners']} / {exact['lp_certified']}/{exact['n_lp']}"
    )


def _polytope_section(summary: Mapping[str, Any]) -> str:
    """The exact collision polytope of fc1: certificates, size and spreads per experiment."""
    experiments = [(n, r) for n, r in summary["experiments"].items() if r.get("exact")]
    parts = ["<h3>Exact collision polytope (first layer, linear programming)</h3>"]
    if not experiments:
        parts.append(
            "<p>No experiment on the first layer: the exact polytope was not computed.</p>"
        )
        return "".join(parts)
    tolerance = experiments[0][1]["exact"]["tolerance"]
    parts.append(
        "<p class='note'>On the first layer the collision set is exactly a polytope: "
        "<code>W_pos^T x + b_pos = f0(t)_pos</code>, <code>W_neg^T x + b_neg &le; 0</code>, "
        "<code>0 &le; x &le; 1</code>. Each LP corner solves one linear program (HiGHS) for the "
        "same negative unit <code>i</code> as the gradient corner. A point is <em>certified</em> "
        f"when, within {escape(f'{tolerance:g}')}, the equalities and half-spaces hold (float64), "
        "and the network's later activations and predicted class equal the target's (float32). "
        "Gradient corners stop at <code>L_pos &lt; threshold</code>, so they are approximate "
        "collisions and are not expected to certify. The interpolation column is the "
        "fraction of random convex combinations of the LP corners that certify (convexity "
        "guarantees all of them in exact arithmetic). The rank of <code>W_pos</code> fixes "
        "the dimension of the flat the polytope lies in (784 &minus; rank); the pixel ranges "
        "are each pixel's min and max over the whole polytope.</p>"
    )
    rows: list[tuple[str, Sequence[str]]] = []
    for name, r in experiments:
        exact = r["exact"]
        gradient = exact["gradient"]
        ranges = "; ".join(
            f"({p['pixel'][0]},{p['pixel'][1]}): {number(p['min'])}–{number(p['max'])}"
            for p in exact["pixel_ranges"]
        )
        certified_all = exact["lp_certified"] == exact["n_lp"]
        rows.append(
            (
                "" if certified_all else "bad",
                [
                    name,
                    exact["mode"],
                    f"{exact['rank_pos']} / {exact['n_positive_units']}",
                    str(exact["equality_dim"]),
                    f"{exact['lp_corners']}/{exact['n_lp']}",
                    f"{exact['lp_certified']}/{exact['n_lp']}",
                    scientific(exact["max_equality_error"]),
                    scientific(exact["max_negative_unit_preactivation"]),
                    "yes" if exact["class_preserved"] else "no",
                    f"{gradient['certified']}/{gradient['n_corners']}",
                    scientific(gradient["max_equality_error"]),
                    scientific(gradient["max_negative_unit_preactivation"]),
                    "yes" if gradient["class_preserved"] else "no",
                    percent(exact["interp_certified_fraction"]),
                    number(exact["dist_lp_corners_mean"]),
                    number(r.get("dist_corners_mean")),
                    number(exact["dist_dataset_mean"]),
                    ranges,
                    number(exact["seconds_per_lp"], 3),
                ],
            )
        )
    parts.append(
        table(
            (
                "experiment",
                "mode",
                "rank W_pos / positive units",
                "flat dim.",
                "LP feasible",
                "LP certified",
                "LP max eq. error",
                "LP max neg. preact.",
                "LP class kept",
                "gradient certified",
                "gradient max eq. error",
                "gradient max neg. preact.",
                "gradient class kept",
                "interp. certified",
                "dist. LP corners",
                "dist. gradient corners",
                "dist. dataset",
                "pixel ranges (row,col): min–max",
                "s / LP",
            ),
            rows,
        )
    )
    return "".join(parts)


def _plateau_rows(
    loss_pos: np.ndarray, converged: np.ndarray, steps: np.ndarray
) -> list[list[str]]:
    """Per corner: final and best ``L_pos`` and its relative change over the last 10% of steps.

    A change near zero with ``L_pos`` above the threshold is a plateau: more
    steps at these settings would not have produced a collision.
    """
    rows = []
    total = loss_pos.shape[0]
    for k in range(loss_pos.shape[1] if loss_pos.ndim == 2 else 0):
        column = loss_pos[:, k]
        if total == 0:
            rows.append(
                [str(k), "yes" if converged[k] else "no", str(int(steps[k])), "—", "—", "—"]
            )
            continue
        start = column[max(0, int(0.9 * total) - 1)]
        final = column[-1]
        change = (final - start) / abs(start) if start else float("nan")
        rows.append(
            [
                str(k),
                "yes" if converged[k] else "no",
                str(int(steps[k])),
                number(final, 3),
                number(column.min(), 3),
                f"{change:+.2%}" if math.isfinite(change) else "—",
            ]
        )
    return rows


def _non_converged_section(summary: Mapping[str, Any], collide_paths: Mapping[str, Any]) -> str:
    """An honest account of experiments that did not meet the paper's stopping rule."""
    failing = [
        (name, r)
        for name, r in summary["experiments"].items()
        if r["corners_converged"] < r["n_corners"]
    ]
    parts = ["<h3>Experiments where not every corner converged</h3>"]
    if not failing:
        parts.append("<p>Every corner of every experiment reached <code>L_pos</code> below ")
        parts.append("its threshold.</p>")
        return "".join(parts)
    parts.append(
        "<p class='note'>The paper stops when every corner's <code>L_pos</code> is below "
        "the threshold (5 on MNIST). The corners below did not get there within "
        "<code>max_steps</code>. They are <em>not</em> exact feature collisions: their "
        "pre-activations still differ from the target's on its positive units, so the "
        "interpolation numbers of these experiments are not comparable with the paper's "
        "and are reported only for completeness. A relative change near 0% over the last "
        "10% of steps means <code>L_pos</code> had plateaued (typically because "
        "<code>L_neg</code> outweighs it at this <code>w_pos</code>).</p>"
    )
    for name, r in failing:
        arrays = read_arrays(collide_paths[name], ["loss_pos", "converged", "converged_step"])
        parts.append(
            f"<h4><a href='#exp-{escape(name)}'>{escape(name)}</a>: {r['corners_converged']}/"
            f"{r['n_corners']} converged (w_pos={r['w_pos']:g}, lr={r['learning_rate']:g}, "
            f"threshold={r['threshold']:g}, {r['steps_run']}/{r['max_steps']} steps)</h4>"
        )
        rows = _plateau_rows(
            np.asarray(arrays["loss_pos"], dtype=np.float64),
            np.asarray(arrays["converged"], dtype=bool),
            np.asarray(arrays["converged_step"]),
        )
        parts.append(
            table(
                (
                    "corner",
                    "converged",
                    "at step",
                    "final L_pos",
                    "min L_pos",
                    "change, last 10% of steps",
                ),
                [("" if row[1] == "yes" else "bad", row) for row in rows],
            )
        )
    return "".join(parts)


def _experiment_section(
    name: str,
    record: Mapping[str, Any],
    collide_path: PathLike,
    interpolate_path: PathLike,
    polytope_path: PathLike | None,
    figures: Figures,
) -> str:
    """One experiment: settings, corner table, images and curves (and LP corners on fc1)."""
    arrays = read_arrays(
        collide_path,
        [
            "seed_image",
            "target_image",
            "corners",
            "negative_units",
            "loss_pos",
            "loss_neg",
            "converged",
            "converged_step",
            "flipped_units",
        ],
    )
    interp = read_arrays(interpolate_path, ["predicted", "top_probability"])
    corners = np.asarray(arrays["corners"], dtype=np.float32)
    images = images_figure(
        np.asarray(arrays["seed_image"], dtype=np.float32),
        np.asarray(arrays["target_image"], dtype=np.float32),
        corners,
        record["corner_classes"],
        record["corner_probabilities"],
        record["seed_class"],
        record["target_class"],
    )
    curves = curves_figure(
        np.asarray(arrays["loss_pos"], dtype=np.float64),
        np.asarray(arrays["loss_neg"], dtype=np.float64),
        float(record["threshold"]),
        np.asarray(interp["top_probability"], dtype=np.float64),
        np.asarray(interp["predicted"]),
        int(record["target_predicted_class"]),
    )
    corner_rows = []
    for k in range(corners.shape[0]):
        final = record["final_loss_pos"][k] if k < len(record["final_loss_pos"]) else None
        converged = bool(arrays["converged"][k])
        corner_rows.append(
            (
                "" if converged else "bad",
                [
                    str(k),
                    str(int(arrays["negative_units"][k])),
                    str(record["corner_classes"][k]),
                    number(record["corner_probabilities"][k], 4),
                    "yes" if converged else "no",
                    str(int(arrays["converged_step"][k])),
                    number(final, 3),
                    str(int(arrays["flipped_units"][k])),
                ],
            )
        )
    settings = (
        f"seed: test image {record['seed_index']} (class {record['seed_class']}); "
        f"target: test image {record['target_index']} (class {record['target_class']}, "
        f"predicted {record['target_predicted_class']} with "
        f"p={probability(record['target_prob'])}); "
        f"layer {record['layer']}; {record['optimizer']} lr={record['learning_rate']:g}, "
        f"w_pos={record['w_pos']:g}, w_neg={record['w_neg']:g}, "
        f"threshold={record['threshold']:g}; {record['steps_run']}/{record['max_steps']} steps "
        f"in {number(record['seconds'], 1)} s"
    )
    lp_parts: list[str] = []
    if polytope_path is not None and record.get("exact"):
        lp = read_arrays(polytope_path, ["lp_corners", "lp_certificate/certified"])
        lp_parts.append(
            figures.img(
                lp_corners_figure(
                    np.asarray(lp["lp_corners"], dtype=np.float32),
                    corners,
                    np.asarray(lp["lp_certificate/certified"], dtype=bool),
                ),
                f"{name}_lp_corners",
                f"{name}: LP corners (certified ✓) above the gradient corners",
            )
        )
    return "".join(
        [
            f"<section class='experiment' id='exp-{escape(name)}'>",
            f"<h4>{escape(name)} ({escape(record['mode'])})</h4>",
            f"<p class='note'>{escape(settings)}</p>",
            table(
                (
                    "corner",
                    "negative unit i",
                    "class",
                    "probability",
                    "converged",
                    "at step",
                    "final L_pos",
                    "flipped units",
                ),
                corner_rows,
            ),
            figures.img(
                images, f"{name}_corners", f"{name}: seed, target, corners and corner minus target"
            ),
            figures.img(
                curves, f"{name}_losses", f"{name}: loss curves and interpolation probabilities"
            ),
            *lp_parts,
            *_macro_parts(name, record, collide_path, figures),
            "</section>",
        ]
    )


def _macro_parts(
    name: str, record: Mapping[str, Any], collide_path: PathLike, figures: Figures
) -> list[str]:
    """The macro corners' control weights and source patches; a warning on random weights."""
    parts = []
    if not record.get("comparable_to_paper", True):
        parts.append(
            f"<p class='note'><strong>{escape(tables_imagenet.NOT_COMPARABLE)}</strong>: "
            f"{escape(record.get('not_comparable_reason', ''))}</p>"
        )
    if record.get("mode") == "macro":
        figure = macro_figure(collide_path)
        if figure is not None:
            parts.append(
                figures.img(
                    figure,
                    f"{name}_composites",
                    f"{name}: corners, control weights and the top source patches",
                )
            )
    return parts


def _provenance_section(summary: Mapping[str, Any], provenance: Mapping[str, Any]) -> str:
    parts = ["<details><summary>Provenance of this section</summary>"]
    seconds = dict(summary.get("stage_seconds") or provenance.get("stage_seconds") or {})
    if seconds:
        totals: dict[str, float] = {}
        for key, value in seconds.items():
            stage = key.split("/", 1)[0]
            totals[stage] = totals.get(stage, 0.0) + float(value)
        parts.append("<h3>Seconds per stage</h3>")
        parts.append(
            table(
                ("stage", "jobs", "total seconds"),
                [
                    (
                        "",
                        [
                            stage,
                            str(sum(1 for k in seconds if k.split("/", 1)[0] == stage)),
                            number(total, 1),
                        ],
                    )
                    for stage, total in totals.items()
                ],
            )
        )
        parts.append(
            table(
                ("job", "seconds"),
                [("", [key, number(value, 2)]) for key, value in seconds.items()],
            )
        )
    known = (
        ("library_versions", "Library versions (report stage)"),
        ("upstream_library_versions", "Library versions recorded by the upstream artifacts"),
        ("config_digests", "Config digests of the inputs"),
        ("input_checksums", "Input checksums (SHA-256)"),
    )
    for key, title in known:
        if key in provenance:
            parts.append(f"<h3>{escape(title)}</h3>")
            parts.append(f"<pre>{escape(json.dumps(provenance[key], indent=2, default=str))}</pre>")
    for key, value in provenance.items():
        if key in {k for k, _ in known} or key == "stage_seconds":
            continue
        parts.append(f"<h3>{escape(key)}</h3>")
        parts.append(f"<pre>{escape(json.dumps(value, indent=2, default=str))}</pre>")
    parts.append("</details>")
    return "".join(parts)


_LISTED_FILES = 20  # the report lists this many skipped or converted files; summary.json all


def _ingest_section(summary: Mapping[str, Any]) -> str:
    """How many files the ImageNet ingest read, skipped (why) and converted (from what)."""
    if "index" not in summary:
        return ""
    ingest = summary.get("ingest")
    parts = ["<h3>ImageNet ingest</h3>"]
    if not ingest:
        parts.append(
            "<p class='note'>Skipped and converted files were not recorded: the database was "
            "ingested by an older version (delete <code>results/imagenet/shards</code> and "
            "rerun to record them).</p>"
        )
        return "".join(parts)

    def kinds(count: int, counts: Mapping[str, int]) -> str:
        listed = ", ".join(f"{n} {name}" for name, n in counts.items())
        return f"{count:,} ({listed})" if count else "0"

    parts.append(
        "<p class='note'>Files are told by their content, not their name. Images in another "
        "format than JPEG (a PNG named .JPEG) and CMYK JPEGs are converted to RGB (alpha "
        "dropped) and kept; empty files, files that are no image and images that do not "
        "decode completely are skipped. Each shard records both "
        "(<code>skipped_*</code>, <code>converted_*</code>), and each ingest job that skipped "
        "or converted a file printed one line.</p>"
    )
    row = [
        f"{ingest['n_files']:,}",
        f"{ingest['n_images']:,}",
        kinds(ingest["n_skipped"], ingest["skipped_reasons"]),
        kinds(ingest["n_converted"], ingest["converted_from"]),
        str(ingest["n_shards"]),
    ]
    header = ("files sampled", "images ingested", "skipped", "converted to RGB", "shards")
    parts.append(table(header, [("bad" if ingest["n_skipped"] else "", row)]))
    files = [
        ("bad", [item["file"], f"skipped: {item['reason']}", item["detail"]])
        for item in ingest["skipped"]
    ] + [("", [item["file"], f"converted from {item['from']}", ""]) for item in ingest["converted"]]
    if files:
        parts.append(table(("file", "what happened", "detail"), files[:_LISTED_FILES]))
    if len(files) > _LISTED_FILES:
        parts.append(
            f"<p class='note'>and {len(files) - _LISTED_FILES:,} more: every file is listed "
            "under <code>ingest</code> in this section's summary.json.</p>"
        )
    return "".join(parts)


def _index_section(summary: Mapping[str, Any]) -> str:
    """The patch search's recall and speed (rule evaluate_index), in either mode, if run."""
    index = summary.get("index")
    if not index:
        return ""
    mode = index.get("mode", "approximate")
    speedup = (
        index["qps"] / index["qps_exact"] if index.get("qps") and index.get("qps_exact") else None
    )
    if mode == "exact":
        search = f"exact ({index.get('exact_backend', '?')}, {index.get('exact_hold', '?')})"
    else:
        search = f"{index['factory']} {index.get('search_params', '')}".strip()
    row = [
        f"{index['n_images']:,}",
        f"{index['n_patches']:,}",
        mode,
        search,
        str(index.get("rerank_k", "-")),
        number(index["recall_at_1"], 3),
        number(index.get("recall_at_1_no_rerank_top1"), 3),
        number(index.get("seconds_per_seed_image"), 3),
        f"{index['qps']:,.0f}",
        f"{index['qps_exact']:,.1f}",
        f"{speedup:,.0f}x" if speedup else "-",
        number(index.get("build_seconds"), 1),
        f"{index['peak_rss_mb']:,.0f}" if index.get("peak_rss_mb") else "-",
        "GPU" if index.get("on_gpu") or "cuda" in str(index.get("exact_devices", "")) else "CPU",
    ]
    header = (
        "images",
        "patches",
        "mode",
        "search",
        "re-ranked",
        "recall@1",
        "recall@1 without re-ranking",
        "s per seed image (625 queries)",
        "queries/s",
        "exact queries/s",
        "speed-up",
        "build s",
        "peak RSS MB",
        "device",
    )
    return (
        "<h3>ImageNet patch index</h3><p class='note'>Recall@1 against exact search "
        "(tie-aware) on query patches from held-out images, and the time of both, measured in "
        "one run by rule <code>evaluate_index</code> (<code>datasets.imagenet.index.mode</code>: "
        "exact computes every distance; approximate searches the FAISS index and re-ranks its "
        "candidates exactly). The paper searched 37,011,074 patches with Prioritized DCI at "
        "about 5 minutes per query.</p>" + table(header, [("", row)])
    )


def _details(
    summary: Mapping[str, Any],
    names: Sequence[str],
    collide_paths: Mapping[str, PathLike],
    interpolate_paths: Mapping[str, PathLike],
    polytope_paths: Mapping[str, PathLike],
    figures: Figures,
) -> list[str]:
    for name in names:
        if name not in collide_paths or name not in interpolate_paths:
            raise ArtifactError(f"experiment '{name}': no collide/interpolate artifact given")
    parts = ["<h3>Per-experiment details</h3>"]
    for name in names:
        parts.append(
            _experiment_section(
                name,
                summary["experiments"][name],
                collide_paths[name],
                interpolate_paths[name],
                polytope_paths.get(name),
                figures,
            )
        )
    return parts


def render_mnist_section(
    summary: Mapping[str, Any],
    collide_paths: Mapping[str, PathLike],
    interpolate_paths: Mapping[str, PathLike],
    polytope_paths: Mapping[str, PathLike],
    paper_case: str,
    provenance: Mapping[str, Any],
    figures: Figures,
) -> str:
    """The collisions_mnist section: Table 1 beside the paper, every experiment, the polytopes.

    ``summary`` comes from :func:`build_summary`; the paths map experiment
    names to their artifacts (figures need the arrays, the summary keeps only
    numbers). ``paper_case`` names the experiment shown beside the paper's row.
    """
    experiments = summary["experiments"]
    table1_rows: list[tuple[str, Sequence[str]]] = [("paper", _paper_cells())]
    if paper_case in experiments:
        record = experiments[paper_case]
        table1_rows.append(
            (
                "",
                _table1_cells(
                    f"this reproduction: {paper_case}", record, _model_accuracy(summary, record)
                ),
            )
        )
        table1_note = ""
    else:
        table1_note = (
            f"<p class='note'>The paper's case '{escape(paper_case)}' is not among the "
            "experiments run; see the table of all experiments below.</p>"
        )
    model_rows = [
        (
            "",
            [
                name,
                percent(m["test_accuracy"]),
                number(m["test_loss"], 4),
                str(m["epochs"]),
                number(m.get("train_seconds"), 1),
            ],
        )
        for name, m in summary.get("model", {}).items()
    ]
    micro = [n for n, r in experiments.items() if is_mnist_micro(r)]
    parts = [
        "<h2>Feature collisions on MNIST (Li, Zhang, Malik; Table 1)</h2>",
        "<h3>Table 1: MNIST, micro level</h3>",
        "<p class='note'>Distances are mean pairwise L2 on [0, 1] pixels (784-d): among the "
        "optimised corners, and among random test images. Accuracy is the fraction of 2,000 "
        "random convex combinations of the corners whose top class is the target's.</p>",
        table(_TABLE1_HEADER, table1_rows),
        table1_note,
        "<h3>Model</h3>",
        table(("model", "test acc.", "test loss", "epochs", "train seconds"), model_rows),
        f"<h3>All MNIST micro experiments ({len(micro)})</h3>",
        "<p class='note'>Red rows: not every corner reached <code>L_pos</code> below the "
        "threshold. Std is the sample standard deviation over experiments. Worst case: "
        "largest corner distance and ratio, smallest accuracy and probabilities. "
        "Certified: gradient corners / LP corners that are exact collisions (first layer "
        "only; see the exact collision polytope below).</p>",
        _all_experiments_table(summary),
        tables_imagenet.mnist_macro_section(summary),
    ]
    if micro:
        overview = overview_figure(micro, [experiments[n] for n in micro], PAPER_TABLE1)
        parts.append(figures.img(overview, "overview", "distances and accuracy per experiment"))
    parts.append(_non_converged_section(summary, collide_paths))
    parts.append(_polytope_section(summary))
    parts += _details(
        summary, list(experiments), collide_paths, interpolate_paths, polytope_paths, figures
    )
    parts.append(_provenance_section(summary, provenance))
    return "\n".join(parts)


def render_imagenet_section(
    summary: Mapping[str, Any],
    collide_paths: Mapping[str, PathLike],
    interpolate_paths: Mapping[str, PathLike],
    provenance: Mapping[str, Any],
    figures: Figures,
) -> str:
    """The collisions_imagenet section: Tables 2-4, the ingest, the patch index, details."""
    parts = [
        "<h2>Feature collisions on ImageNet (Li, Zhang, Malik; Tables 2-4)</h2>",
        tables_imagenet.tables_section(summary),
        _ingest_section(summary),
        _index_section(summary),
    ]
    parts += _details(
        summary, list(summary["experiments"]), collide_paths, interpolate_paths, {}, figures
    )
    parts.append(_provenance_section(summary, provenance))
    return "\n".join(parts)

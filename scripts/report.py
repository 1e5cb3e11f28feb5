"""Snakemake script for rule ``report``: summary.json and the self-contained HTML report.

Thin by design: it maps ``snakemake.input``/``params`` onto
:mod:`fooled.report`; logging and the one-line failure come from
:func:`fooled.stage.run_stage`.
"""

import json
from pathlib import Path

from fooled.core import h5io
from fooled.core.stage import run_stage
from fooled.studies.collisions import report
from fooled.studies.collisions import summary as report_summary

smk = globals()["snakemake"]  # injected by Snakemake's script directive


def main(logger) -> None:
    names = [str(name) for name in smk.params.experiment_names]
    collide = [str(path) for path in smk.input.collide]
    interpolate = [str(path) for path in smk.input.interpolate]
    if not len(names) == len(collide) == len(interpolate):
        raise ValueError(
            f"{len(names)} experiment names, {len(collide)} collide and "
            f"{len(interpolate)} interpolate inputs: they must match one to one"
        )
    collide_paths = dict(zip(names, collide, strict=True))
    interpolate_paths = dict(zip(names, interpolate, strict=True))
    # Rule ``polytope`` runs only for fc1 experiments; its outputs come with their own names.
    polytope_names = [str(name) for name in getattr(smk.params, "polytope_names", [])]
    polytope = [str(path) for path in getattr(smk.input, "polytope", [])]
    if len(polytope_names) != len(polytope):
        raise ValueError(
            f"{len(polytope_names)} polytope experiment names and {len(polytope)} polytope "
            "inputs: they must match one to one"
        )
    polytope_paths = dict(zip(polytope_names, polytope, strict=True))
    unknown = sorted(set(polytope_paths) - set(names))
    if unknown:
        raise ValueError(f"polytope inputs for unknown experiments: {', '.join(unknown)}")
    metrics_path = str(smk.input.metrics)
    model_name = str(h5io.read_attrs(metrics_path).get("model_name") or "mnist_mlp")
    metrics = {model_name: metrics_path}

    experiments = []
    for name in names:
        record = report_summary.collect_experiment(
            collide_paths[name], interpolate_paths[name], polytope_paths.get(name)
        )
        if record["name"] != name:
            raise h5io.ArtifactError(
                f"{collide_paths[name]}: holds experiment '{record['name']}', expected '{name}'"
            )
        experiments.append(record)
        logger.info(
            "%s: %d/%d corners converged, interpolation accuracy %.4f",
            name,
            record["corners_converged"],
            record["n_corners"],
            record["interp_top_class_accuracy"],
        )
        if record["exact"] is not None:
            exact = record["exact"]
            logger.info(
                "%s: %d/%d LP corners certified (gradient corners %d/%d), %.3f s per LP",
                name,
                exact["lp_certified"],
                exact["n_lp"],
                exact["gradient"]["certified"],
                exact["gradient"]["n_corners"],
                exact["seconds_per_lp"] or float("nan"),
            )

    seconds = report_summary.stage_seconds(
        metrics, collide_paths, interpolate_paths, polytope_paths
    )
    summary = report_summary.build_summary(metrics, experiments, seconds)
    # The ImageNet patch index's evaluation (rule evaluate_index), when the config enables it.
    for index_summary in getattr(smk.input, "imagenet_index", []):
        summary["index"] = json.loads(Path(index_summary).read_text())
    inputs = {"metrics": metrics_path}
    inputs |= {f"collide/{name}": path for name, path in collide_paths.items()}
    inputs |= {f"interpolate/{name}": path for name, path in interpolate_paths.items()}
    inputs |= {f"polytope/{name}": path for name, path in polytope_paths.items()}
    html = report.render_report(
        summary,
        collide_paths,
        interpolate_paths,
        dict(smk.params.config),
        report_summary.report_provenance(inputs),
        polytope_paths,
    )
    report.write_report(smk.output.html, smk.output.summary, summary, html)
    logger.info(
        "wrote %s (%d bytes) and %s", smk.output.html, len(html.encode()), smk.output.summary
    )


run_stage("report", smk.log[0], main)

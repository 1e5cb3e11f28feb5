"""The card's stage functions, one per rule: ``measure`` (one model) and ``report``.

``measure`` takes ``job.params``: ``settings`` (the card's scale), ``model`` (its name,
whether it is the user's, its pixel range and collision layer) and each attack's section of
its own study (``fgsm``, ``pgd``, ``lbfgs``, ``evolve``, ``ascend``, ``corners``); inputs
``mnist``, ``model`` (a Keras file) and, when the defences study is in the run,
``autoencoder`` and ``errors`` (lists, possibly empty).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from fooled.core import h5io
from fooled.core.stage import Job
from fooled.models import detector
from fooled.studies.card import layout, measure

SCHEMA = "studies/card.schema.yaml"
STAGES = layout.STAGES
ENCODINGS = ("direct", "cppn")


def study_settings(section: Mapping[str, Any] | None = None, source: str = "config") -> dict:
    """``studies.card`` of a config, validated, every default filled in (tests)."""
    from fooled.core.config import section_settings

    return section_settings(SCHEMA, section, source, ["studies", "card"])


def plan_jobs(
    section: Mapping[str, Any],
    studies: Mapping[str, Mapping[str, Any]],
    reads: Mapping[str, list[str]],
    root: str | Path,
) -> dict[str, Job]:
    """Every job of the card below ``root`` (the tests' runs outside Snakemake), keyed as
    :func:`layout.jobs` keys them (``measure/<model>``, ``report``)."""
    return {
        name: Job.make(**wiring, wildcards={"model": name.partition("/")[2]})
        for name, wiring in layout.jobs(section, studies, reads, str(root)).items()
    }


def _handle(job: Job) -> Any:
    from fooled.models.handle import ModelHandle
    from fooled.models.own import own_handle
    from fooled.models.runtime import load_model

    model = job.params.model
    if model["own"]:
        return own_handle(job.input.model, model["pixel_max"], model["layer"])
    return ModelHandle(load_model(job.input.model), layer=model["layer"])


def _detector(job: Job) -> tuple[Any, float] | None:
    """The defences study's autoencoder and its threshold, when the run has them."""
    from fooled.models.autoencoder import load_detector

    found = [list(job.input.get(name) or []) for name in ("autoencoder", "errors")]
    if not all(found) or not all(Path(paths[0]).is_file() for paths in found):
        return None
    reconstruction, attrs = load_detector(found[0][0], found[1][0])
    return reconstruction, float(attrs["threshold"])


def measure_model(job: Job, logger: logging.Logger) -> None:
    """Every figure of the card for one model (:mod:`fooled.studies.card.measure`)."""
    from fooled.models.runtime import make_deterministic

    settings, model = dict(job.params.settings), dict(job.params.model)
    make_deterministic(settings["seed"])
    arrays = h5io.read_arrays(job.input.mnist, ["test/images", "test/labels"])
    images = arrays["test/images"].astype(np.float32) / 255.0
    labels = arrays["test/labels"].astype(np.int64)
    handle = _handle(job)
    started = time.perf_counter()
    datasets: dict[str, np.ndarray] = {}
    figures: dict[str, Any] = {"model": model["name"], "own": model["own"]}

    clean = images[: settings["n_clean"]]
    figures["clean_accuracy"] = measure.clean_accuracy(handle, clean, labels[: len(clean)])
    logger.info("%s: clean accuracy %.2f%%", model["name"], 100 * figures["clean_accuracy"])

    n = settings["n_attacked"]
    attacked = measure.sign_step_attacks(
        handle, images[:n], labels[:n], job.params.fgsm, job.params.pgd
    )
    for name, result in attacked.items():
        figures[name] = result.rows()
        datasets[f"{name}/epsilons"] = result.epsilons
        datasets[f"{name}/predicted"] = result.predicted
        logger.info(
            "%s: %s error %s",
            model["name"],
            name.upper(),
            ", ".join(f"{100 * r['error_rate']:.1f}% at {r['epsilon']:g}" for r in figures[name]),
        )

    k = settings["n_lbfgs"]
    lbfgs = measure.lbfgs_distortion(
        handle, images[:k], labels[:k], job.params.lbfgs, settings["seed"]
    )
    datasets["lbfgs/distortion"] = lbfgs.pop("distortion")
    own_examples = lbfgs.pop("examples")
    figures["lbfgs"] = lbfgs
    logger.info(
        "%s: L-BFGS fools %.0f%% of %d images, median distortion %.4f",
        model["name"],
        100 * lbfgs["success_rate"],
        lbfgs["n"],
        lbfgs["median_distortion"],
    )

    figures["evolution"] = {}
    for encoding in ENCODINGS:
        evolved = measure.generations_to_fool(
            handle, encoding, job.params.evolve, settings["generations"], settings["seed"]
        )
        datasets[f"evolution/{encoding}/elites"] = evolved["elites"]
        datasets[f"evolution/{encoding}/confidence"] = evolved["confidence"]
        figures["evolution"][encoding] = {
            "threshold": evolved["threshold"],
            "generations": settings["generations"],
            "generation": evolved["generation"].tolist(),
        }
        logger.info(
            "%s: MAP-Elites (%s), %d of 10 digits at >= %g within %d generations",
            model["name"],
            encoding,
            int((evolved["generation"] >= 0).sum()),
            evolved["threshold"],
            settings["generations"],
        )
    ascent = measure.steps_to_fool(handle, job.params.ascend, settings["seed"])
    figures["ascent"] = {
        "threshold": ascent["threshold"],
        "steps": job.params.ascend["steps"],
        "step": ascent["step"].tolist(),
    }

    if model["layer"] is None or settings["n_collisions"] == 0:
        figures["collisions"] = {"skipped": "no layer named for this model (model.layer)"}
    else:
        figures["collisions"] = measure.collision_interpolations(
            handle,
            images,
            labels,
            job.params.corners,
            settings["n_collisions"],
            settings["n_interpolations"],
            settings["seed"],
            logger,
            job.params.polytope,
        ) | {"layer": model["layer"]}

    model_paths = [str(path) for path in job.input.get("szegedy_models") or []]
    attack_paths = [str(path) for path in job.input.get("szegedy_attacks") or []]
    if not attack_paths:
        figures["transfer"] = {"skipped": "no Szegedy networks in this run (the szegedy study)"}
    else:
        figures["transfer"] = measure.transfer(handle, *own_examples, model_paths, attack_paths)
        logger.info(
            "%s: error on Szegedy's networks' L-BFGS examples %s; their error on its own %s",
            model["name"],
            ", ".join(f"{k} {100 * v['error']:.0f}%" for k, v in figures["transfer"]["to"].items()),
            ", ".join(f"{k} {100 * v:.0f}%" for k, v in figures["transfer"]["from"].items()),
        )

    found = _detector(job)
    if found is None:
        figures["detector"] = {"skipped": "no autoencoder in this run (the defences study)"}
    else:
        reconstruction, threshold = found
        clean_scores = reconstruction.numpy(clean)
        rows = []
        for name, result in attacked.items():
            for k, eps in enumerate(result.epsilons):
                scores = reconstruction.numpy(result.adversarial[k])
                rows.append(
                    {
                        "attack": name,
                        "epsilon": float(eps),
                        "auc": detector.roc_auc(clean_scores, scores),
                        "detection_rate": detector.detection_rate(scores, threshold),
                    }
                )
        figures["detector"] = {"rows": rows, "threshold": threshold}
    figures["seconds"] = time.perf_counter() - started
    inputs = {"mnist": job.input.mnist, "model": job.input.model}
    h5io.write_artifact(
        job.output.measures,
        datasets,
        h5io.provenance(
            {key: dict(job.params[key]) for key in job.params}, inputs, {"card": settings["seed"]}
        ),
        {"figures": figures},
    )
    logger.info("%s: measured in %.1f s", model["name"], figures["seconds"])


def report(job: Job, logger: logging.Logger) -> None:
    """The card's report section (:mod:`fooled.studies.card.report`)."""
    from fooled.report.study import section_stage
    from fooled.studies.card import report as section

    section_stage(section)(job, logger)

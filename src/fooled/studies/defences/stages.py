"""The defences study's stage functions, one per workflow rule: ``stage(job, logger) -> None``.

Inputs and outputs are named (``job.input.mnist``, ``job.output.fgsm``, ...)
as the rules name them (docs/studies/defences.md, "Stages"); each stage
receives only its own settings, ``job.params.settings`` (its section of
``studies.defences``), plus ``job.params.fgsm`` where it makes FGSM
examples. Inputs of other studies (``lbfgs``, ``evolved``, ``ascent``,
``collisions``, ``interpolations``) are lists of paths, possibly empty;
absent ones are skipped with a line in the artifact, never an error.

TensorFlow is imported inside the stages that use it, so the report stage
starts without it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fooled.core import h5io
from fooled.core.stage import Job
from fooled.models import detector
from fooled.studies.defences import kinds, layout

OWN_KINDS = ("fgsm", "pgd")
OTHER_KINDS = ("lbfgs", "evolved", "ascent", "collisions", "interpolations")


# ----------------------------------------------------------------------------- the jobs

SCHEMA = "studies/defences.schema.yaml"
STAGES = layout.STAGES


def study_settings(section: Mapping[str, Any] | None = None, source: str = "config") -> dict:
    """``studies.defences`` of a config, validated, every default filled in (benchmarks, tests).

    The workflow gets the same from its config loader once the study is in
    ``config.schema.yaml``.
    """
    from fooled.core.config import section_settings

    return section_settings(SCHEMA, section, source, ["studies", "defences"])


def plan_jobs(
    settings: Mapping[str, Any],
    reads: Mapping[str, Sequence[str]],
    root: str | Path = ".",
    threads: int = 1,
    redo: Mapping[str, Sequence[str]] | None = None,
    siblings: layout.Siblings | None = None,
    mlp_seeds: Sequence[int] = (),
) -> dict[str, Job]:
    """Every stage's job for ``settings`` (the ``studies.defences`` section, defaults filled),
    its files below ``root``: the wiring of the study's rules (:func:`layout.jobs`), for the
    runs outside Snakemake (the benchmark, the tests).

    ``reads``, ``redo``: the other studies' artifacts by input name (the study registry's
    ``find_inputs``); ``siblings``: the registry's ``siblings``; ``mlp_seeds``: the MLP's
    further seeds, whose stages are named ``<stage>_seed<seed>``.
    """
    planned = layout.jobs(
        settings,
        {name: list(paths) for name, paths in reads.items()},
        None if redo is None else {name: list(paths) for name, paths in redo.items()},
        siblings,
        root=str(root),
        mlp_seeds=list(mlp_seeds),
    )
    for seed in mlp_seeds:
        for stage, wiring in layout.seed_jobs(settings, seed, root=str(root)).items():
            planned[f"{stage}_seed{seed}"] = wiring
    return {
        stage: Job.make(**wiring, threads=1 if stage == "report" else threads)
        for stage, wiring in planned.items()
    }


# ----------------------------------------------------------------------------- helpers


def paths_of(job: Job, name: str) -> list[str]:
    """A named input as a list of paths (absent name: empty; one path: a list of one)."""
    value = job.input.get(name, [])
    if value is None:
        return []
    if isinstance(value, str | Path):
        return [str(value)]
    return [str(path) for path in value]


def read_split_pixels(path: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    """A split of the MNIST artifact as float32 (n, 28, 28) pixels in [0, 1] and int64 labels."""
    arrays = h5io.read_arrays(path, [f"{split}/images", f"{split}/labels"])
    images = arrays[f"{split}/images"].astype(np.float32) / 255.0
    return images, arrays[f"{split}/labels"].astype(np.int64)


def _setup(job: Job, seed: int = 0) -> None:
    from fooled.models.runtime import limit_threads, make_deterministic

    limit_threads(job.threads)  # keeps the pools a process that already ran TensorFlow has
    make_deterministic(seed)


def _classifier(path: str, layer: str | None = None):
    from fooled.models.handle import ModelHandle
    from fooled.models.runtime import load_model

    return ModelHandle(load_model(path), layer=layer)


def _fgsm_settings(settings: Mapping[str, Any], penalty_weight: float = 0.0):
    from fooled.attacks.fgsm import FGSMSettings

    return FGSMSettings.from_config({**settings, "penalty_weight": penalty_weight})


def attack_settings(settings: Any) -> dict[str, Any]:
    """An attack's settings dataclass as plain data (what its artifact records)."""
    from dataclasses import asdict

    return {
        key: list(value) if isinstance(value, tuple) else value
        for key, value in asdict(settings).items()
    }


def score_examples(scores: np.ndarray, count: int) -> np.ndarray:
    """Indices of ``count`` examples spread over the scores (10th to 90th percentile)."""
    if len(scores) == 0 or count == 0:
        return np.zeros(0, np.int64)
    order = np.argsort(scores, kind="stable")
    positions = np.linspace(0.1, 0.9, count) if count > 1 else np.array([0.5])
    return order[np.round(positions * (len(scores) - 1)).astype(int)].astype(np.int64)


# ----------------------------------------------------------------------------- fgsm


def _attack_datasets(result: Any, labels: np.ndarray) -> dict[str, np.ndarray]:
    """What an FGSM or PGD artifact holds: the adversarial images at every epsilon and what
    the model makes of them."""
    return {
        "epsilons": result.epsilons,
        "indices": np.arange(len(labels), dtype=np.int64),
        "labels": labels,
        "adversarial": result.adversarial.astype(np.float32),
        "predicted": result.predicted,
        "confidence": result.confidence,
        "true_probability": result.true_probability,
        "clean_predicted": result.clean_predicted,
        "clean_confidence": result.clean_confidence,
        "error_rate": result.error_rate,
        "mean_confidence": result.mean_confidence,
    }


def fgsm(job: Job, logger: logging.Logger) -> None:
    """FGSM and PGD on the project's MLP: adversarial test images at every epsilon, error and
    confidence.

    Inputs ``mnist``, ``model``; outputs ``fgsm``, ``pgd``; params ``settings``
    (defences.fgsm), ``pgd`` (defences.pgd).
    """
    from fooled.attacks.fgsm import FGSM
    from fooled.attacks.pgd import PGD, PGDSettings

    settings, pgd_config = dict(job.params.settings), dict(job.params.pgd)
    _setup(job)
    images, labels = read_split_pixels(job.input.mnist, "test")
    images, labels = images[: settings["n_images"]], labels[: settings["n_images"]]
    model = _classifier(job.input.model)
    result = FGSM(_fgsm_settings(settings)).run(model, images, labels)
    rows = result.rows()
    if settings["gradient"] != "float32":
        # Beside it, the figure common libraries report (their float32 gradient).
        as_libraries = FGSM(_fgsm_settings({**settings, "gradient": "float32"}))
        float32_errors = as_libraries.run(model, images, labels).error_rate
        for row, error in zip(rows, float32_errors, strict=True):
            row["error_rate_float32"] = float(error)
    for row in rows:
        logger.info(
            "FGSM eps %.3g: error %.1f%% (%s gradient; float32: %s), mean confidence %.3f "
            "(%.3f on the misclassified)",
            row["epsilon"],
            100 * row["error_rate"],
            settings["gradient"],
            f"{100 * row['error_rate_float32']:.1f}%" if "error_rate_float32" in row else "-",
            row["mean_confidence"],
            row["mean_confidence_misclassified"],
        )
    inputs = {"mnist": job.input.mnist, "model": job.input.model}
    # A further seed's MLP is named by the rule (its folder is only its seed).
    model_name = job.params.get("model_name") or Path(job.input.model).parent.name
    h5io.write_artifact(
        job.output.fgsm,
        _attack_datasets(result, labels),
        h5io.provenance(settings, inputs),
        {
            "model": model_name,
            "n_images": len(images),
            "steps": settings["steps"],
            "gradient": settings["gradient"],
            "clean_error": result.clean_error,
            "rows": rows,
            "seconds": result.seconds,
        },
    )
    strong = PGDSettings.beside_fgsm(pgd_config, settings)
    pgd_result = PGD(strong).run(model, images, labels)
    pgd_rows = pgd_result.rows()
    for row in pgd_rows:
        logger.info(
            "PGD eps %.3g (%d steps of %g, %d restart(s)): error %.1f%%, mean confidence %.3f",
            row["epsilon"],
            strong.steps,
            strong.step_size,
            strong.restarts,
            100 * row["error_rate"],
            row["mean_confidence"],
        )
    h5io.write_artifact(
        job.output.pgd,
        _attack_datasets(pgd_result, labels) | {"restart": pgd_result.restart},
        h5io.provenance({"pgd": pgd_config, "fgsm": settings}, inputs, {"pgd": strong.seed}),
        {
            "model": model_name,
            "n_images": len(images),
            "preset": pgd_config["preset"] or "",
            "settings": attack_settings(strong),
            "clean_error": pgd_result.clean_error,
            "rows": pgd_rows,
            "seconds": pgd_result.seconds,
        },
    )


# ----------------------------------------------------------------------------- adversarial training


def lbfgs_errors(handle: Any, paths: Sequence[str]) -> list[dict[str, Any]]:
    """Error (against the true label) and target hit rate of a classifier on L-BFGS examples."""
    rows = []
    for path in paths:
        with h5io.open_artifact(path) as handle_h5:
            names = [name for name in ("labels", "targets", "success") if name in handle_h5]
        arrays = h5io.read_arrays(path, ["adversarial", *names])
        images = kinds.as_images(arrays["adversarial"], path, "adversarial")
        keep = np.asarray(arrays.get("success", np.ones(len(images), bool)), bool).reshape(-1)
        if "labels" not in arrays:
            raise h5io.ArtifactError(f"{path}: dataset 'labels' is missing")
        predicted = handle.probabilities_numpy(images[keep]).argmax(axis=1)
        labels = np.asarray(arrays["labels"]).reshape(-1)[keep]
        row = {
            "source": path,
            "attacked_model": Path(path).name.removesuffix(".h5"),
            "n": int(keep.sum()),
            "error": float((predicted != labels).mean()) if keep.any() else float("nan"),
        }
        if "targets" in arrays:
            targets = np.asarray(arrays["targets"]).reshape(-1)[keep]
            row["target_hit"] = float((predicted == targets).mean()) if keep.any() else float("nan")
        rows.append(row)
    return rows


def adversarial_training(job: Job, logger: logging.Logger) -> None:
    """The MLP trained on clean and FGSM examples; errors before and after.

    Inputs ``mnist``, ``model`` (the project's MLP, "before"), ``lbfgs`` (list,
    possibly empty); outputs ``model`` (the adversarially trained MLP),
    ``metrics``; params ``settings`` (defences.adversarial_training), ``fgsm``, ``pgd``.
    Both attacks are made against the model they are scored on (white box), so "after"
    asks whether the defence holds against the attack it was trained on and a stronger one.
    """
    import keras

    from fooled.attacks.fgsm import FGSM
    from fooled.attacks.pgd import PGD, PGDSettings
    from fooled.core.h5io import atomic_path
    from fooled.models.adversarial_training import (
        AdversarialTrainingSettings,
        train_adversarially,
    )
    from fooled.models.handle import ModelHandle
    from fooled.models.runtime import load_model, make_deterministic

    settings, fgsm_config = dict(job.params.settings), dict(job.params.fgsm)
    pgd_config = dict(job.params.pgd)
    _setup(job, settings["seed"])
    train_images, train_labels = read_split_pixels(job.input.mnist, "train")
    test_images, test_labels = read_split_pixels(job.input.mnist, "test")
    attack_images = test_images[: fgsm_config["n_images"]]
    attack_labels = test_labels[: fgsm_config["n_images"]]
    attack = FGSM(_fgsm_settings(fgsm_config))
    strong = PGD(PGDSettings.beside_fgsm(pgd_config, fgsm_config))
    lbfgs_paths = [path for path in paths_of(job, "lbfgs") if Path(path).is_file()]

    def evaluate(model: keras.Model) -> dict[str, Any]:
        handle = ModelHandle(model)
        predicted = handle.probabilities_numpy(test_images).argmax(axis=1)
        result = attack.run(handle, attack_images, attack_labels)
        return {
            "clean_error": float((predicted != test_labels).mean()),
            "fgsm": result.rows(),
            "pgd": strong.run(handle, attack_images, attack_labels).rows(),
            "lbfgs": lbfgs_errors(handle, lbfgs_paths),
        }

    baseline = load_model(job.input.model)
    before = evaluate(baseline)
    if settings["init"] == "scratch":
        make_deterministic(settings["seed"])
        model = keras.models.clone_model(baseline)  # same architecture, fresh initial weights
    else:
        model = load_model(job.input.model)
    training = train_adversarially(
        model,
        train_images,
        train_labels,
        AdversarialTrainingSettings.from_config(settings),
        logger=logger,
    )
    after = evaluate(model)
    for label, figures in (("before", before), ("after", after)):
        logger.info(
            "%s: clean error %.2f%%, FGSM error %s; PGD error %s",
            label,
            100 * figures["clean_error"],
            ", ".join(
                f"{100 * row['error_rate']:.1f}% at {row['epsilon']:g}" for row in figures["fgsm"]
            ),
            ", ".join(
                f"{100 * row['error_rate']:.1f}% at {row['epsilon']:g}" for row in figures["pgd"]
            ),
        )
    with atomic_path(job.output.model) as temporary:
        model.save(temporary)
    epsilons = [row["epsilon"] for row in before["fgsm"]]
    h5io.write_artifact(
        job.output.metrics,
        {
            **{f"history/{key}": values for key, values in training.history.items()},
            "epsilons": np.asarray(epsilons, np.float64),
            "fgsm_error_before": np.asarray([r["error_rate"] for r in before["fgsm"]]),
            "fgsm_error_after": np.asarray([r["error_rate"] for r in after["fgsm"]]),
            "fgsm_confidence_before": np.asarray(
                [r["mean_confidence_misclassified"] for r in before["fgsm"]]
            ),
            "fgsm_confidence_after": np.asarray(
                [r["mean_confidence_misclassified"] for r in after["fgsm"]]
            ),
            "pgd_epsilons": np.asarray([r["epsilon"] for r in before["pgd"]], np.float64),
            "pgd_error_before": np.asarray([r["error_rate"] for r in before["pgd"]]),
            "pgd_error_after": np.asarray([r["error_rate"] for r in after["pgd"]]),
        },
        h5io.provenance(
            {"adversarial_training": settings, "fgsm": fgsm_config, "pgd": pgd_config},
            {"mnist": job.input.mnist, "model": job.input.model}
            | {f"lbfgs[{i}]": path for i, path in enumerate(lbfgs_paths)},
            {"adversarial_training": settings["seed"], "pgd": pgd_config["seed"]},
        ),
        {
            "init": settings["init"],
            "pgd": attack_settings(strong.settings),
            "alpha": settings["alpha"],
            "epsilon": settings["epsilon"],
            "epochs": settings["epochs"],
            "n_train": len(train_images)
            if settings["max_train_samples"] is None
            else min(len(train_images), settings["max_train_samples"]),
            "n_attacked": len(attack_images),
            "clean_error_before": before["clean_error"],
            "clean_error_after": after["clean_error"],
            "lbfgs": {"before": before["lbfgs"], "after": after["lbfgs"]},
            "lbfgs_skipped": "" if lbfgs_paths else "no L-BFGS examples in this run (szegedy)",
            "seconds": training.seconds,
        },
    )


# ----------------------------------------------------------------------------- autoencoder


def autoencoder(job: Job, logger: logging.Logger) -> None:
    """The detector: an autoencoder trained on MNIST, its error distribution and threshold.

    Input ``mnist``; outputs ``model`` (Keras), ``errors``; params ``settings``
    (defences.autoencoder). The last ``n_holdout`` training images are held
    out of training: the threshold is set on them at ``false_positive_rate``.
    """
    from fooled.core.h5io import atomic_path
    from fooled.models.autoencoder import (
        AutoencoderSettings,
        ReconstructionError,
        train_autoencoder,
    )

    settings = dict(job.params.settings)
    _setup(job, settings["seed"])
    train_images, _ = read_split_pixels(job.input.mnist, "train")
    test_images, _ = read_split_pixels(job.input.mnist, "test")
    n_holdout = settings["n_holdout"]
    if not 0 < n_holdout < len(train_images):
        raise ValueError(f"n_holdout {n_holdout} must be in (0, {len(train_images)})")
    fit_images, holdout = train_images[:-n_holdout], train_images[-n_holdout:]
    ae_settings = AutoencoderSettings.from_config(settings)
    training = train_autoencoder(fit_images, ae_settings, validation=holdout, logger=logger)
    score = ReconstructionError(training.model, ae_settings.loss)
    holdout_errors, test_errors = score.numpy(holdout), score.numpy(test_images)
    threshold = detector.threshold_at_fpr(holdout_errors, settings["false_positive_rate"])
    clean = detector.distribution(test_errors)
    logger.info(
        "clean test reconstruction error (%s): mean %.4f, std %.4f; threshold %.4f at %.1f%% FPR "
        "(test images flagged: %.2f%%)",
        ae_settings.loss,
        clean["mean"],
        clean["std"],
        threshold,
        100 * settings["false_positive_rate"],
        100 * detector.detection_rate(test_errors, threshold),
    )
    with atomic_path(job.output.model) as temporary:
        training.model.save(temporary)
    shown = test_images[:8]
    h5io.write_artifact(
        job.output.errors,
        {
            "test_errors": test_errors,
            "holdout_errors": holdout_errors,
            **{f"history/{key}": values for key, values in training.history.items()},
            "examples": shown,
            "reconstructions": score.reconstruct_numpy(shown),
        },
        h5io.provenance(settings, {"mnist": job.input.mnist}, {"autoencoder": settings["seed"]}),
        {
            "architecture": ae_settings.architecture,
            "hidden_units": list(ae_settings.hidden_units),
            "loss": ae_settings.loss,
            "epochs": ae_settings.epochs,
            "n_train": len(fit_images)
            if ae_settings.max_train_samples is None
            else min(len(fit_images), ae_settings.max_train_samples),
            "n_holdout": n_holdout,
            "false_positive_rate": settings["false_positive_rate"],
            "threshold": threshold,
            "test_flagged": detector.detection_rate(test_errors, threshold),
            "clean": clean,
            "holdout": detector.distribution(holdout_errors),
            "seconds": training.seconds,
        },
    )


# ----------------------------------------------------------------------------- score


def score_set(
    row: kinds.InputSet,
    scores: np.ndarray,
    probabilities: np.ndarray,
    clean_scores: np.ndarray,
    threshold: float,
) -> dict[str, Any]:
    """The table row of one input set: detection rate, ROC-AUC, classifier confidence."""
    return {
        "name": row.name,
        "kind": row.kind,
        "label": row.label,
        "n": int(len(scores)),
        "auc": detector.roc_auc(clean_scores, scores),
        "detection_rate": detector.detection_rate(scores, threshold),
        "mean_score": float(scores.mean()),
        "mean_confidence": float(probabilities.max(axis=1).mean()),
        "sources": list(row.sources),
        "note": row.note,
        "settings": dict(row.settings),
    }


def score(job: Job, logger: logging.Logger) -> None:
    """Every kind of input in the run, scored by the autoencoder; AUC against clean test images.

    Inputs ``mnist``, ``model`` (the classifier whose confidence is reported),
    ``autoencoder``, ``errors`` (the autoencoder stage's artifact: loss and
    threshold), ``fgsm``, ``pgd``, and lists ``lbfgs``, ``evolved``, ``ascent``,
    ``collisions``, ``interpolations``; output ``score``; params ``settings``
    (defences.score), ``corners_of`` (each interpolation file -> its collide file).
    """
    from fooled.models.autoencoder import load_detector

    settings = dict(job.params.settings)
    _setup(job, settings["seed"])
    started = time.perf_counter()
    test_images, _ = read_split_pixels(job.input.mnist, "test")
    clean = test_images[: settings["n_clean"]]
    model = _classifier(job.input.model)
    reconstruction, ae_attrs = load_detector(job.input.autoencoder, job.input.errors)
    threshold = float(ae_attrs["threshold"])
    context = kinds.Context(
        clean=clean,
        noise_stddevs=tuple(settings["noise_stddevs"]),
        seed=settings["seed"],
        max_per_set=settings["max_per_set"],
        corners_of=dict(job.params.corners_of),
    )
    given = {name: paths_of(job, name) for name in OWN_KINDS + OTHER_KINDS}
    collected = kinds.collect(given, context)
    for name, reason in collected.skipped.items():
        logger.info("skipped %s: %s", name, reason)
    clean_scores = reconstruction.numpy(clean)
    datasets: dict[str, np.ndarray] = {"clean_scores": clean_scores}
    rows = []
    for row in collected.sets:
        scores = clean_scores if row.name == "clean" else reconstruction.numpy(row.images)
        probabilities = model.probabilities_numpy(row.images)
        summary = score_set(row, scores, probabilities, clean_scores, threshold)
        if row.name == "clean":
            summary["auc"] = None  # the negatives themselves
        rows.append(summary)
        shown = score_examples(scores, settings["n_examples"])
        datasets |= {
            f"sets/{row.name}/scores": scores.astype(np.float32),
            f"sets/{row.name}/confidence": probabilities.max(axis=1).astype(np.float32),
            f"sets/{row.name}/predicted": probabilities.argmax(axis=1).astype(np.int64),
            f"sets/{row.name}/examples": row.images[shown].astype(np.float32),
            f"sets/{row.name}/example_scores": scores[shown].astype(np.float32),
            f"sets/{row.name}/example_predicted": probabilities[shown].argmax(axis=1),
        }
        logger.info(
            "%s: n %d, AUC %s, detected %.1f%%, confidence %.3f",
            row.label,
            summary["n"],
            "-" if summary["auc"] is None else f"{summary['auc']:.3f}",
            100 * summary["detection_rate"],
            summary["mean_confidence"],
        )
    seconds = time.perf_counter() - started
    inputs = {"mnist": job.input.mnist, "model": job.input.model}
    inputs |= {"autoencoder": job.input.autoencoder, "errors": job.input.errors}
    for name, paths in given.items():
        inputs |= {f"{name}[{i}]": path for i, path in enumerate(paths) if Path(path).is_file()}
    h5io.write_artifact(
        job.output.score,
        datasets,
        h5io.provenance(settings, inputs, {"score": settings["seed"]}),
        {
            "threshold": threshold,
            "false_positive_rate": ae_attrs["false_positive_rate"],
            "loss": ae_attrs["loss"],
            "n_clean": len(clean),
            "sets": rows,
            "skipped": collected.skipped,
            "seconds": seconds,
        },
    )
    logger.info("scored %d sets in %.2f s", len(rows), seconds)


# ----------------------------------------------------------------------------- adaptive


def _dirichlet_weights(n_samples: int, n_corners: int, seed: int) -> np.ndarray:
    """Convex weights uniform on the simplex (as the collision study's interpolations)."""
    return np.random.default_rng(seed).dirichlet(np.ones(n_corners), n_samples).astype(np.float32)


def corner_row(
    result: Any,
    plain_scores: np.ndarray,
    clean_scores: np.ndarray,
    threshold: float,
    classify: Callable[[np.ndarray], np.ndarray],
    score: Callable[[np.ndarray], np.ndarray],
    settings: Mapping[str, Any],
    position: int,
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """One adaptive corner run as the detector and the classifier see it, and its arrays.

    A corner *evades* when it still collides (true ``L_pos`` below the
    threshold), keeps the target's class and scores at most the detector's
    threshold. Its ``n_interpolations`` convex combinations are scored too.
    """
    corners = result.corners.reshape(-1, 28, 28)
    mix = _dirichlet_weights(
        settings["n_interpolations"], len(corners), settings["seed"] + position
    )
    between = kinds.interpolate(mix, corners)
    reconstruction_scores = result.penalty
    between_scores = np.zeros(0, np.float32)
    between_classes = np.zeros(0, np.int64)
    if len(between):
        between_scores = score(between)
        between_classes = classify(between).argmax(axis=1).astype(np.int64)
    kept = result.probabilities.argmax(axis=1) == result.target_class
    row = {
        "n": int(len(corners)),
        "target_class": result.target_class,
        "collided": float(result.collided.mean()),
        "mean_loss_pos": float(result.loss_pos.mean()),
        "class_kept": float(kept.mean()),
        "mean_confidence": float(result.probabilities.max(axis=1).mean()),
        "mean_score": float(reconstruction_scores.mean()),
        "plain_mean_score": float(plain_scores.mean()),
        "auc": detector.roc_auc(clean_scores, reconstruction_scores),
        "plain_auc": detector.roc_auc(clean_scores, plain_scores),
        "detection_rate": detector.detection_rate(reconstruction_scores, threshold),
        "plain_detection_rate": detector.detection_rate(plain_scores, threshold),
        "evaded_collisions": float(
            (result.collided & kept & (reconstruction_scores <= threshold)).mean()
        ),
        "interpolation_auc": detector.roc_auc(clean_scores, between_scores),
        "interpolation_detection_rate": detector.detection_rate(between_scores, threshold),
        "interpolation_class_kept": float((between_classes == result.target_class).mean())
        if len(between_classes)
        else float("nan"),
        "steps_run": result.steps_run,
        "seconds": result.seconds,
    }
    arrays = {
        "corners": corners,
        "loss_pos": result.loss_pos,
        "collided": result.collided,
        "scores": reconstruction_scores,
        "probabilities": result.probabilities,
        "interpolation_scores": between_scores,
        "interpolation_predicted": between_classes,
    }
    return row, arrays


def sign_step_row(
    weight: float,
    epsilon: float,
    wrong: np.ndarray,
    scores: np.ndarray,
    confidence: np.ndarray,
    clean_scores: np.ndarray,
    threshold: float,
) -> dict[str, float]:
    """One adaptive FGSM or PGD run at one epsilon as the detector and the classifier see it."""
    return {
        "weight": weight,
        "epsilon": float(epsilon),
        "error_rate": float(wrong.mean()),
        "auc": detector.roc_auc(clean_scores, scores),
        "detection_rate": detector.detection_rate(scores, threshold),
        "evaded_and_fooled": float((wrong & (scores <= threshold)).mean()),
        "mean_confidence": float(confidence.mean()),
        "mean_score": float(scores.mean()),
    }


def adaptive_sign_steps(
    kind: str,
    make_attack: Callable[[float], Any],
    weights: Sequence[float],
    model: Any,
    images: np.ndarray,
    labels: np.ndarray,
    clean_scores: np.ndarray,
    threshold: float,
    logger: logging.Logger,
) -> tuple[list[dict[str, float]], dict[str, np.ndarray]]:
    """FGSM or PGD (``kind``) with ``weight * reconstruction error`` in its loss, at each
    weight (``make_attack(weight)``: the attack, its penalty given): its rows and its arrays
    (``{kind}/...``)."""
    rows: list[dict[str, float]] = []
    scores_all, predicted_all, confidence_all = [], [], []
    arrays: dict[str, np.ndarray] = {}
    epsilons = np.zeros(0)
    for weight in weights:
        result = make_attack(weight).run(model, images, labels)
        epsilons = result.epsilons
        scores_all.append(result.penalty)
        predicted_all.append(result.predicted)
        confidence_all.append(result.confidence)
        arrays[f"{kind}/examples/weight_{weight:g}"] = result.adversarial[:, :8].astype(np.float32)
        for k, eps in enumerate(result.epsilons):
            wrong = result.predicted[k] != labels
            row = sign_step_row(
                weight, eps, wrong, result.penalty[k], result.confidence[k], clean_scores, threshold
            )
            rows.append(row)
            logger.info(
                "adaptive %s weight %g, eps %g: error %.1f%%, AUC %.3f, detected %.1f%%, "
                "fooled and undetected %.1f%%",
                kind.upper(),
                weight,
                eps,
                100 * row["error_rate"],
                row["auc"],
                100 * row["detection_rate"],
                100 * row["evaded_and_fooled"],
            )
    arrays |= {
        f"{kind}/weights": np.asarray(weights, np.float64),
        f"{kind}/epsilons": np.asarray(epsilons, np.float64),
        f"{kind}/labels": labels,
        f"{kind}/scores": np.asarray(scores_all, np.float32),
        f"{kind}/predicted": np.asarray(predicted_all, np.int64),
        f"{kind}/confidence": np.asarray(confidence_all, np.float32),
    }
    return rows, arrays


def adaptive(job: Job, logger: logging.Logger) -> None:
    """The attacks again, with ``weight * reconstruction error`` in their loss.

    Inputs ``mnist``, ``model``, ``autoencoder``, ``errors``, ``collisions``
    (list of collide artifacts to redo, possibly empty); output ``adaptive``;
    params ``settings`` (defences.adaptive), ``fgsm``, ``pgd`` (FGSM and PGD are both run at
    each of ``settings.fgsm_weights``), ``sources_of`` (a macro
    experiment's collide file -> its source digits' file).
    """
    from fooled.attacks.composites import MacroSettings, Sources
    from fooled.attacks.corners import CornerSettings
    from fooled.attacks.fgsm import FGSM
    from fooled.attacks.pgd import PGD, PGDSettings
    from fooled.models.autoencoder import load_detector
    from fooled.studies.defences import adaptive as attacks

    settings, fgsm_config = dict(job.params.settings), dict(job.params.fgsm)
    _setup(job, settings["seed"])
    test_images, test_labels = read_split_pixels(job.input.mnist, "test")
    images = test_images[: fgsm_config["n_images"]]
    labels = test_labels[: fgsm_config["n_images"]]
    model = _classifier(job.input.model)
    reconstruction, ae_attrs = load_detector(job.input.autoencoder, job.input.errors)
    threshold = float(ae_attrs["threshold"])
    clean_scores = reconstruction.numpy(test_images)
    datasets: dict[str, np.ndarray] = {}
    weights = [float(w) for w in settings["fgsm_weights"]]
    pgd_config = dict(job.params.pgd)
    tables: dict[str, list[dict[str, float]]] = {}
    makers = {
        "fgsm": lambda w: FGSM(_fgsm_settings(fgsm_config, w), penalty=reconstruction),
        "pgd": lambda w: PGD(
            PGDSettings.beside_fgsm(pgd_config, fgsm_config, w), penalty=reconstruction
        ),
    }
    for kind, make_attack in makers.items():
        tables[kind], arrays = adaptive_sign_steps(
            kind, make_attack, weights, model, images, labels, clean_scores, threshold, logger
        )
        datasets |= arrays

    corner_table = []
    collide_paths = paths_of(job, "collisions")
    present = [path for path in collide_paths if Path(path).is_file()]
    corner_skipped = {
        Path(path).name.removesuffix(".h5"): "collide artifact absent"
        for path in collide_paths
        if not Path(path).is_file()
    }
    if not collide_paths:
        corner_skipped["*"] = "no collision experiments in this run (collisions_mnist)"
    handles: dict[str, Any] = {}  # one per layer: its compiled attacks serve every weight
    for position, path in enumerate(present):
        name = Path(path).name.removesuffix(".h5")
        attrs = h5io.read_attrs(path)
        level = kinds.collision_mode(path)
        found = h5io.read_arrays(path, ["seed_image", "target_image", "corners"])
        layer = str(attrs["layer"])
        if layer not in handles:
            handles[layer] = _classifier(job.input.model, layer=layer)
        if level == "macro":
            sources_path = Path(dict(job.params.sources_of).get(path, ""))
            if not sources_path.is_file():
                corner_skipped[name] = f"macro experiment without its sources ({sources_path})"
                continue
            arrays = h5io.read_arrays(sources_path, ["sources", "weights"])
            macro = MacroSettings.from_config(dict(attrs, checkpoint_every=0))

            def run(weight: float, arrays=arrays, macro=macro, found=found, layer=layer):
                return attacks.adaptive_macro_corners(
                    handles[layer],
                    Sources(arrays["sources"].astype(np.float32) / 255.0, arrays["weights"]),
                    found["target_image"].reshape(28, 28, 1),
                    macro,
                    reconstruction,
                    weight,
                    reconstruction.numpy,
                )
        else:
            micro = CornerSettings.from_config(attrs)

            def run(weight: float, micro=micro, found=found, layer=layer):
                return attacks.adaptive_corners(
                    handles[layer],
                    found["seed_image"].reshape(-1),
                    found["target_image"].reshape(-1),
                    micro,
                    reconstruction,
                    weight,
                    reconstruction.numpy,
                )

        plain_scores = reconstruction.numpy(found["corners"])
        datasets |= {
            f"corners/{name}/plain_corners": found["corners"].astype(np.float32),
            f"corners/{name}/plain_scores": plain_scores,
            f"corners/{name}/seed_image": found["seed_image"].astype(np.float32),
            f"corners/{name}/target_image": found["target_image"].astype(np.float32),
        }
        for weight in [float(w) for w in settings["corner_weights"]]:
            result = run(weight)
            row, arrays_of_run = corner_row(
                result,
                plain_scores,
                clean_scores,
                threshold,
                model.probabilities_numpy,
                reconstruction.numpy,
                settings,
                position,
            )
            row |= {
                "experiment": name,
                "level": level,
                "weight": weight,
                "collision_threshold": float(attrs["threshold"]),
            }
            corner_table.append(row)
            datasets |= {
                f"corners/{name}/weight_{weight:g}/{key}": value
                for key, value in arrays_of_run.items()
            }
            logger.info(
                "adaptive corners %s (%s, weight %g): collided %.0f%% (mean L_pos %.2f), class "
                "kept %.0f%%, score %.4f (plain %.4f), detected %.0f%% (plain %.0f%%), %d steps",
                name,
                level,
                weight,
                100 * row["collided"],
                row["mean_loss_pos"],
                100 * row["class_kept"],
                row["mean_score"],
                row["plain_mean_score"],
                100 * row["detection_rate"],
                100 * row["plain_detection_rate"],
                row["steps_run"],
            )
    hooks = {hook.attack: attacks.hook_status(hook) for hook in attacks.HOOKS}
    inputs = {"mnist": job.input.mnist, "model": job.input.model}
    inputs |= {"autoencoder": job.input.autoencoder, "errors": job.input.errors}
    inputs |= {f"collisions[{i}]": path for i, path in enumerate(present)}
    h5io.write_artifact(
        job.output.adaptive,
        datasets,
        h5io.provenance(
            {"adaptive": settings, "fgsm": fgsm_config, "pgd": dict(job.params.pgd)},
            inputs,
            {"adaptive": settings["seed"], "pgd": job.params.pgd["seed"]},
        ),
        {
            "threshold": threshold,
            "loss": ae_attrs["loss"],
            "fgsm_rows": tables["fgsm"],
            "pgd_rows": tables["pgd"],
            "corner_rows": corner_table,
            "corner_skipped": corner_skipped,
            "hooks": hooks,
        },
    )


# ----------------------------------------------------------------------------- report


def report(job: Job, logger: logging.Logger) -> None:
    """The study's report section (:mod:`fooled.studies.defences.report`, which the rule's
    script runs without this module).

    Inputs ``fgsm``, ``metrics`` (adversarial training), ``errors``
    (autoencoder), ``score``, ``adaptive``; outputs ``html``, ``summary``, ``figures``.
    """
    from fooled.report.study import section_stage
    from fooled.studies.defences import report as section

    section_stage(section)(job, logger)

"""The Szegedy study's stages: one function per workflow rule, ``stage(job, logger)``.

Every stage takes *lists* of model instances, so a rule may run one model per
job (one-element lists, best for a cluster) or every model in one job (the
quick default run, where TensorFlow's start-up per job would dominate):
``job.params.models`` is a list of instance mappings (``name``, ``seed`` and
the experiment's settings, from :meth:`ModelInstance.training` plus ``table``
and ``paper_row``), and the model, metrics and attack paths are lists in the
same order. A single path is read as a one-element list.

Artifacts (all HDF5 via ``h5io.write_artifact`` with provenance; layout in
``docs/studies/szegedy.md``):

- ``train_models``: per instance ``model.keras`` and ``metrics.h5``.
- ``attack_lbfgs``: per instance ``attack.h5`` (``images``, ``adversarial``, ...).
- ``attack_lbfgs_train``: per instance ``attack_train.h5``, the same on training images.
- ``transfer``: one ``transfer.h5`` with Table 2 and Table 4 per seed.
- ``adversarial_training``: per seed ``model.keras`` and ``metrics.h5``.
- ``units``: one ``units.h5``; ``bounds``: one ``bounds.h5``.
- ``report``: the section's HTML and summary JSON (``Section.write``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from fooled.core import h5io
from fooled.core.blas import single_threaded_blas
from fooled.core.progress import Progress
from fooled.core.stage import Job
from fooled.data.mnist import read_mnist

# ----------------------------------------------------------------------------- helpers


def as_list(value: Any) -> list:
    """A path or a list of paths (Snakemake gives a str for one file) as a list."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


def _paired(job_values: Any, instances: Sequence[Mapping[str, Any]], what: str) -> list[str]:
    paths = as_list(job_values)
    if len(paths) != len(instances):
        raise ValueError(f"{len(paths)} {what} for {len(instances)} models (params.models)")
    return paths


def _instances(job: Job) -> list[dict[str, Any]]:
    models = job.params.models
    if isinstance(models, Mapping):
        models = [models]
    return [dict(model) for model in models]


def _setup(job: Job) -> None:
    """TensorFlow on the job's threads; a process that already ran TensorFlow keeps its own."""
    from fooled.models.runtime import limit_threads

    limit_threads(job.threads)


# What each named path list of a job holds, for the one-line error when its length is wrong.
PATH_LISTS = {
    "models": "model",
    "metrics": "metrics",
    "attacks": "attack",
}


def begin(job: Job, *lists: str) -> tuple[list[Any], ...]:
    """A stage's first lines: TensorFlow on the job's threads, the model instances of
    ``params.models``, and each named list of paths (``"input.models"``,
    ``"output.attacks"``, ...) checked against them, in the order asked for."""
    _setup(job)
    instances = _instances(job)
    paths = []
    for name in lists:
        side, key = name.split(".")
        what = f"{PATH_LISTS[key]} {side}s"
        paths.append(_paired(getattr(getattr(job, side), key), instances, what))
    return (instances, *paths)


def test_set(path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The MNIST test set: its stored images, and as pixel rows and int64 labels."""
    from fooled.models.mnist_zoo import pixels

    mnist = h5io.read_arrays(path, ["test/images", "test/labels"])
    return mnist["test/images"], pixels(mnist["test/images"]), mnist["test/labels"].astype(np.int64)


def load_instance_model(path: str, instance: Mapping[str, Any]):
    """A trained model file, refused with one line when it is not the configured architecture."""
    from fooled.models.mnist_zoo import check_model_matches
    from fooled.models.runtime import load_model

    model = load_model(path)
    check_model_matches(model, instance["architecture"], instance["weight_decay"], path)
    return model


def attack_image_indices(
    test_labels: np.ndarray, predicted: np.ndarray, n_images: int, image_seed: int
) -> np.ndarray:
    """The first ``n_images`` test images of a seeded permutation that the model gets right."""
    order = np.random.default_rng(image_seed).permutation(len(test_labels))
    correct = order[np.asarray(predicted)[order] == np.asarray(test_labels)[order]]
    return correct[:n_images]


def test_targets(test_labels: np.ndarray, target_seed: int) -> np.ndarray:
    """One random wrong label per test image, the same for every model (seeded)."""
    from fooled.attacks.lbfgs import random_targets

    return random_targets(test_labels, 10, target_seed)


def _lbfgs_settings(settings: Mapping[str, Any]):
    from fooled.attacks.lbfgs import LBFGSSettings

    return LBFGSSettings.from_config(settings)


# ----------------------------------------------------------------------------- train


def train_models(job: Job, logger: logging.Logger) -> None:
    """Train every model instance of ``params.models`` (rule ``szegedy_train``)."""
    from fooled.models.mnist_zoo import TrainSettings, train_model

    instances, model_paths, metrics_paths = begin(job, "output.models", "output.metrics")
    mnist = read_mnist(job.input.mnist)
    split_seed = int(job.params.split_seed)
    for instance, model_path, metrics_path in zip(
        instances, model_paths, metrics_paths, strict=True
    ):
        settings = TrainSettings.from_config(instance)
        trained = train_model(settings, mnist, split_seed)
        logger.info(
            "%s seed %d: train error %.4f, test error %.4f (%d images, %.1f s)",
            instance["name"],
            settings.seed,
            trained.train_error,
            trained.test_error,
            trained.n_train,
            trained.seconds,
        )
        with h5io.atomic_path(model_path) as temporary:
            trained.model.save(temporary)
        h5io.write_artifact(
            metrics_path,
            {f"history/{key}": values for key, values in trained.history.items()}
            | {"test/predicted": trained.test_predicted.astype(np.uint8)},
            h5io.provenance(
                {**instance, "split_seed": split_seed},
                {"mnist": job.input.mnist},
                {"train": settings.seed, "split": split_seed},
            ),
            {
                "model": instance["name"],
                "seed": settings.seed,
                "architecture": settings.architecture,
                "weight_decay": json.dumps(instance["weight_decay"]),
                "training_set": settings.training_set,
                "n_train": trained.n_train,
                "train_error": trained.train_error,
                "test_error": trained.test_error,
                "error_p1": trained.error_p1,
                "error_p2": trained.error_p2,
                "epochs": settings.epochs,
                "train_seconds": trained.seconds,
            },
        )


# ----------------------------------------------------------------------------- attack


def train_and_attack(job: Job, logger: logging.Logger) -> None:
    """Models trained, then attacked, in one job (rule ``szegedy_model_batch``): each
    model's files below ``output.batch``, laid out as the study's layout puts them
    (``LAYOUT.under``), for rule ``szegedy_model`` to copy into place.

    One job for several models starts TensorFlow once for all of them and for both stages.
    """
    from fooled.studies.szegedy.layout import LAYOUT, PER_INSTANCE

    inside = LAYOUT.under(job.output.batch)
    instances = _instances(job)
    paths = {
        artifact: [
            inside.path(artifact, name=instance["name"], seed=instance["seed"])
            for instance in instances
        ]
        for artifact in PER_INSTANCE
    }
    train_models(
        Job.make(
            input={"mnist": job.input.mnist},
            output={"models": paths["model"], "metrics": paths["metrics"]},
            params={"models": instances, "split_seed": job.params.split_seed},
            threads=job.threads,
        ),
        logger,
    )
    attack_lbfgs(
        Job.make(
            input={"mnist": job.input.mnist, "models": paths["model"]},
            output={"attacks": paths["attack"]},
            params={"models": instances, "attack": job.params.attack},
            threads=job.threads,
        ),
        logger,
    )


def place_model(job: Job, logger: logging.Logger) -> None:
    """Rule ``szegedy_model``: one model's files out of ``input.batch`` into place."""
    from fooled.core import batches
    from fooled.studies.szegedy.layout import LAYOUT, PER_INSTANCE

    wildcards = {"name": job.wildcards.name, "seed": job.wildcards.seed}
    batches.place(
        LAYOUT, job.input.batch, PER_INSTANCE, wildcards, job.output, "szegedy_model_batch"
    )


def attack_datasets(
    source_images: np.ndarray,
    source_labels: np.ndarray,
    indices: np.ndarray,
    targets: np.ndarray,
    result: Any,
    index_name: str = "test_index",
) -> dict[str, np.ndarray]:
    """One attack artifact's datasets (the defences study reads ``adversarial``); the
    attacked images' indices into their split as ``index_name``."""
    from fooled.models.mnist_zoo import pixels

    images = pixels(source_images[indices]).reshape(-1, 28, 28)
    return {
        index_name: indices.astype(np.int64),
        "images": images.astype(np.float32),
        "adversarial": result.adversarial.reshape(-1, 28, 28).astype(np.float32),
        "labels": np.asarray(source_labels)[indices].astype(np.int64),
        "targets": np.asarray(targets, np.int64),
        "success": result.success.astype(bool),
        "predicted": result.predicted.astype(np.int64),
        "distortion": result.distortion.astype(np.float64),
        "c": result.c.astype(np.float64),
        "iterations": result.iterations.astype(np.int64),
        "evaluations": result.evaluations.astype(np.int64),
        "solves": result.solves.astype(np.int64),
    }


def attack_lbfgs(job: Job, logger: logging.Logger) -> None:
    """L-BFGS adversarial examples for every model instance (rule ``szegedy_model_batch``),
    on test images: what the transfer, adversarial-training and defences stages read."""
    _attack_models(job, logger, "test", dict(job.params.attack))


def attack_lbfgs_train(job: Job, logger: logging.Logger) -> None:
    """The same attack on images of each model's own training set (rule
    ``szegedy_attack_train``): the paper's Table 1 gives distortions over the training set.

    Inputs ``mnist``, ``models``; outputs ``attacks``; params ``models``, ``split_seed``,
    ``attack`` (its L-BFGS settings, image and target seeds), ``train_attack`` (``n_images``).
    """
    settings = dict(job.params.attack) | {"n_images": job.params.train_attack["n_images"]}
    _attack_models(job, logger, "train", settings, int(job.params.split_seed))


def _attack_models(
    job: Job,
    logger: logging.Logger,
    split: str,
    settings: dict[str, Any],
    split_seed: int | None = None,
) -> None:
    """Every model instance attacked on images of ``split``: test images, or the model's own
    training images (its training set and size, split with ``split_seed``)."""
    from fooled.attacks.lbfgs import LBFGSAttack, random_targets
    from fooled.models.handle import ModelHandle
    from fooled.models.mnist_zoo import pixels, training_indices

    instances, model_paths, attack_paths = begin(job, "input.models", "output.attacks")
    attack = LBFGSAttack(_lbfgs_settings(settings))
    mnist = h5io.read_arrays(job.input.mnist, [f"{split}/images", f"{split}/labels"])
    images, labels = mnist[f"{split}/images"], mnist[f"{split}/labels"].astype(np.int64)
    x = pixels(images)
    all_targets = random_targets(labels, 10, int(settings["target_seed"]))
    for instance, model_path, attack_path in zip(instances, model_paths, attack_paths, strict=True):
        handle = ModelHandle(load_instance_model(model_path, instance))
        pool = np.arange(len(labels))
        if split == "train":  # the images this model was trained on
            pool = training_indices(
                instance["training_set"],
                len(labels),
                int(split_seed or 0),
                instance.get("max_train_samples"),
            )
        predicted = handle.logits_numpy(x[pool]).argmax(axis=1)
        chosen = attack_image_indices(
            labels[pool], predicted, int(settings["n_images"]), int(settings["image_seed"])
        )
        indices = pool[chosen]
        targets = all_targets[indices]
        result = attack.run(handle, x[indices], targets)
        logger.info(
            "%s seed %d, %s images: %d, success %.3f, mean distortion %.4f, %.1f s (%.1f ms/image)",
            instance["name"],
            instance["seed"],
            split,
            len(indices),
            result.success_rate(),
            result.mean_distortion(),
            result.seconds,
            1000 * result.seconds / max(1, len(indices)),
        )
        h5io.write_artifact(
            attack_path,
            attack_datasets(images, labels, indices, targets, result, f"{split}_index"),
            h5io.provenance(
                {"model": instance, "attack": settings}
                | ({"split_seed": split_seed} if split == "train" else {}),
                {"mnist": job.input.mnist, "model": model_path},
                {"images": int(settings["image_seed"]), "targets": int(settings["target_seed"])},
            ),
            {
                "model": instance["name"],
                "seed": int(instance["seed"]),
                "architecture": instance["architecture"],
                "n_images": len(indices),
                "success_rate": result.success_rate(),
                "mean_distortion": result.mean_distortion(),
                "seconds": result.seconds,
                "distortion_norm": "c * sum(r^2) / n (squared distortion) + cross-entropy",
            }
            | ({"images_from": "training set"} if split == "train" else {}),
        )


# ----------------------------------------------------------------------------- transfer


def transfer(job: Job, logger: logging.Logger) -> None:
    """Tables 2 and 4, seed by seed (rule ``szegedy_transfer``); see ``transfer.py``."""
    from fooled.models.mnist_zoo import predict_classes
    from fooled.studies.szegedy import transfer as tables

    instances, model_paths, attack_paths = begin(job, "input.models", "input.attacks")
    settings = dict(job.params.transfer)
    attack_settings = dict(job.params.attack)
    _, test_x, test_y = test_set(job.input.mnist)
    seeds = sorted({int(instance["seed"]) for instance in instances})
    noise_pool = np.random.default_rng(int(attack_settings["image_seed"])).permutation(len(test_y))
    noise_pool = noise_pool[: int(attack_settings["n_images"])]
    datasets: dict[str, np.ndarray] = {}
    labels: dict[str, Any] = {}
    for table, members, noise in (
        ("table2", "table1", settings["noise_stddevs"]),
        ("table4", "cross_training", settings["cross_noise_stddevs"]),
    ):
        chosen = [i for i, instance in enumerate(instances) if instance["table"] == members]
        if not chosen:
            continue
        per_seed = []
        for seed in seeds:
            here = [i for i in chosen if int(instances[i]["seed"]) == seed]
            classifiers, correct, rows, magnified = {}, {}, [], []
            for i in here:
                instance = instances[i]
                model = load_instance_model(model_paths[i], instance)
                column = instance.get("paper_row") or instance["name"]
                classifiers[column] = (lambda m: lambda x: predict_classes(m, x))(model)
                correct[column] = predict_classes(model, test_x) == test_y
                attack = h5io.read_arrays(
                    attack_paths[i], ["test_index", "images", "adversarial", "labels", "success"]
                )
                row = tables.attack_rows(
                    f"for {column}",
                    attack["test_index"],
                    attack["labels"],
                    attack["images"],
                    attack["adversarial"],
                    attack["success"],
                )
                rows.append(row)
                if table == "table4":
                    magnified.append(
                        tables.magnified_rows(
                            f"magnified, for {column}",
                            row,
                            attack["images"],
                            float(settings["magnify_to"]),
                        )
                    )
            rng = np.random.default_rng([int(settings["noise_seed"]), seed])
            noise_rows = [
                tables.noise_rows(
                    f"Gaussian noise, stddev {stddev:g}",
                    noise_pool,
                    test_y[noise_pool],
                    test_x[noise_pool],
                    float(stddev),
                    rng,
                    bool(settings["clip_noise"]),
                )
                for stddev in noise
            ]
            result = tables.transfer_table(rows + noise_rows + magnified, classifiers, correct)
            per_seed.append(result)
            logger.info("%s seed %d: %d rows x %d columns", table, seed, *result.errors.shape)
        datasets[f"{table}/errors"] = np.stack([r.errors for r in per_seed])
        datasets[f"{table}/counts"] = np.stack([r.counts for r in per_seed])
        datasets[f"{table}/distortion"] = np.stack([r.distortion for r in per_seed])
        labels[f"{table}_rows"] = per_seed[0].rows
        labels[f"{table}_columns"] = per_seed[0].columns
    inputs = {f"attack_{i}": path for i, path in enumerate(attack_paths)}
    h5io.write_artifact(
        job.output.transfer,
        datasets,
        h5io.provenance(
            {"transfer": settings, "models": instances}, inputs, {"noise": settings["noise_seed"]}
        ),
        {"seeds": seeds, **labels},
    )


# ----------------------------------------------------------------------------- adversarial training


def adversarial_training(job: Job, logger: logging.Logger) -> None:
    """The base model with a refreshed pool of L-BFGS examples (rule ``szegedy_adversarial``)."""
    from fooled.attacks.lbfgs import LBFGSAttack
    from fooled.core.config import deep_merge
    from fooled.models.handle import ModelHandle
    from fooled.models.mnist_zoo import TrainSettings, error_rate, pixels
    from fooled.studies.szegedy.adversarial_training import PoolSettings, train_adversarially

    _setup(job)
    base = dict(job.params.base)
    settings = dict(job.params.adversarial_training)
    attack_settings = dict(job.params.attack)
    pool_attack = LBFGSAttack(_lbfgs_settings(deep_merge(attack_settings, settings["attack"])))
    mnist = read_mnist(job.input.mnist)
    split_seed = int(job.params.split_seed)
    base_model = load_instance_model(job.input.base_model, base)
    trained = train_adversarially(
        TrainSettings.from_config(base),
        PoolSettings.from_config(settings),
        pool_attack,
        mnist,
        split_seed,
        logger,
    )
    test_x, test_y = pixels(mnist["test/images"]), mnist["test/labels"].astype(np.int64)
    base_test_error = error_rate(base_model, test_x, test_y)
    # (a) the plain model's own adversarial examples, fed to the adversarially trained one
    made = h5io.read_arrays(
        job.input.base_attack, ["test_index", "adversarial", "labels", "success"]
    )
    success = made["success"].astype(bool)
    error_on_base = error_rate(
        trained.model, made["adversarial"][success].reshape(-1, 784), made["labels"][success]
    )
    # (b) fresh L-BFGS examples against each model, on the same kind of test images
    attack = LBFGSAttack(_lbfgs_settings(attack_settings))
    handle = ModelHandle(trained.model)
    predicted = handle.logits_numpy(test_x).argmax(axis=1)
    indices = attack_image_indices(
        test_y, predicted, int(settings["n_eval_images"]), int(attack_settings["image_seed"])
    )
    targets = test_targets(test_y, int(attack_settings["target_seed"]))[indices]
    fresh = attack.run(handle, test_x[indices], targets)
    base_handle = ModelHandle(base_model)
    base_fresh = attack.run(base_handle, test_x[indices], targets)
    logger.info(
        "adversarial training seed %d: test error %.4f (plain %.4f); error on the plain model's "
        "examples %.3f; fresh distortion %.4f (plain %.4f)",
        int(base["seed"]),
        trained.test_error,
        base_test_error,
        error_on_base,
        fresh.mean_distortion(),
        base_fresh.mean_distortion(),
    )
    with h5io.atomic_path(job.output.model) as temporary:
        trained.model.save(temporary)
    h5io.write_artifact(
        job.output.metrics,
        {
            "refresh/epoch": trained.refresh_epoch,
            "refresh/success": trained.refresh_success,
            "refresh/distortion": trained.refresh_distortion,
            "refresh/pool_size": trained.pool_sizes,
            "history/loss": trained.history_loss,
            "test/predicted": trained.test_predicted.astype(np.uint8),
            "fresh/test_index": indices.astype(np.int64),
            "fresh/targets": targets.astype(np.int64),
            "fresh/distortion": fresh.distortion,
            "fresh/success": fresh.success,
            "fresh/base_distortion": base_fresh.distortion,
            "fresh/base_success": base_fresh.success,
        },
        h5io.provenance(
            {"base": base, "adversarial_training": settings, "attack": attack_settings},
            {
                "mnist": job.input.mnist,
                "base_model": job.input.base_model,
                "base_attack": job.input.base_attack,
            },
            {"train": int(base["seed"]), "split": split_seed},
        ),
        {
            "model": base["name"],
            "seed": int(base["seed"]),
            "train_error": trained.train_error,
            "test_error": trained.test_error,
            "base_test_error": base_test_error,
            "error_on_base_examples": error_on_base,
            "n_base_examples": int(success.sum()),
            "fresh_success_rate": fresh.success_rate(),
            "fresh_mean_distortion": fresh.mean_distortion(),
            "base_fresh_success_rate": base_fresh.success_rate(),
            "base_fresh_mean_distortion": base_fresh.mean_distortion(),
            "train_seconds": trained.seconds,
        },
    )


# ----------------------------------------------------------------------------- units


def units(job: Job, logger: logging.Logger) -> None:
    """Label purity of units against random directions per hidden layer (``szegedy_units``)."""
    from fooled.models.mnist_zoo import layer_outputs, parse_architecture, pixels
    from fooled.studies.szegedy.units import units_versus_directions

    instances, model_paths = begin(job, "input.models")
    settings = dict(job.params.units)
    mnist = h5io.read_arrays(job.input.mnist, ["test/images", "test/labels"])
    n_images = int(settings["n_images"])
    x = pixels(mnist["test/images"][:n_images])
    y = mnist["test/labels"][:n_images].astype(np.int64)
    datasets: dict[str, np.ndarray] = {}
    results = []
    for instance, path in zip(instances, model_paths, strict=True):
        model = load_instance_model(path, instance)
        layers = parse_architecture(instance["architecture"]).hidden_layers
        if not layers:
            continue
        outputs = layer_outputs(model, layers)(x, training=False)
        outputs = outputs if isinstance(outputs, list | tuple) else [outputs]
        for layer, activations in zip(layers, outputs, strict=True):
            result = units_versus_directions(
                np.asarray(activations),
                y,
                n_units=int(settings["n_units"]),
                n_directions=int(settings["n_directions"]),
                k=int(settings["top_k"]),
                n_permutations=int(settings["n_permutations"]),
                seed=int(settings["seed"]),
            )
            group = f"{instance['name']}/seed{instance['seed']}/{layer}"
            datasets[f"{group}/units"] = result.units.astype(np.int64)
            datasets[f"{group}/purity_units"] = result.purity_units
            datasets[f"{group}/purity_directions"] = result.purity_directions
            record = {"model": instance["name"], "seed": int(instance["seed"]), "layer": layer}
            results.append(record | result.summary())
            logger.info(
                "%s seed %s %s: purity units %.3f, directions %.3f, p = %.3g (chance %.3f)",
                instance["name"],
                instance["seed"],
                layer,
                result.purity_units.mean(),
                result.purity_directions.mean(),
                result.p_value,
                result.chance,
            )
    h5io.write_artifact(
        job.output.units,
        datasets,
        h5io.provenance(
            {"units": settings, "models": instances},
            {f"model_{i}": path for i, path in enumerate(model_paths)},
            {"units": int(settings["seed"])},
        ),
        {"results": results, "n_images": n_images},
    )


# ----------------------------------------------------------------------------- bounds


def bounds(job: Job, logger: logging.Logger) -> None:
    """Upper Lipschitz bounds per layer and ratios at the attacks (rule ``szegedy_bounds``)."""
    from fooled.models.handle import ModelHandle
    from fooled.studies.szegedy import bounds as lipschitz

    instances, model_paths, attack_paths = begin(job, "input.models", "input.attacks")
    settings = dict(job.params.bounds)
    datasets: dict[str, np.ndarray] = {}
    records = []
    for instance, model_path, attack_path in zip(instances, model_paths, attack_paths, strict=True):
        model = load_instance_model(model_path, instance)
        with single_threaded_blas():
            rows = lipschitz.layer_bounds(model)
        total = lipschitz.network_bound(rows)
        attack = h5io.read_arrays(attack_path, ["images", "adversarial", "success"])
        success = attack["success"].astype(bool)
        handle = ModelHandle(model)
        clean, adversarial = attack["images"][success], attack["adversarial"][success]
        ratios = lipschitz.local_ratios(
            handle.logits_numpy(clean), handle.logits_numpy(adversarial), clean, adversarial
        )
        group = f"{instance['name']}/seed{instance['seed']}"
        datasets[f"{group}/layer_bound"] = np.array([row.bound for row in rows])
        datasets[f"{group}/activation_lipschitz"] = np.array([row.activation for row in rows])
        datasets[f"{group}/ratios"] = ratios
        max_ratio = float(np.nanmax(ratios)) if np.isfinite(ratios).any() else float("nan")
        if max_ratio > total * (1 + 1e-5):
            raise RuntimeError(
                f"{model_path}: measured ratio {max_ratio:.4g} exceeds the Lipschitz bound "
                f"{total:.4g} (a bug in the bound)"
            )
        records.append(
            {
                "model": instance["name"],
                "seed": int(instance["seed"]),
                "layers": [_row_record(row) for row in rows],
                "network_bound": total,
                "max_ratio": max_ratio,
                "median_ratio": float(np.nanmedian(ratios)) if ratios.size else float("nan"),
            }
        )
        logger.info(
            "%s seed %s: bound %.4g, largest measured ratio %.4g",
            instance["name"],
            instance["seed"],
            total,
            max_ratio,
        )
    vgg = _vgg_bounds(settings["vgg16"], job, logger)
    h5io.write_artifact(
        job.output.bounds,
        datasets,
        h5io.provenance(
            {"bounds": settings, "models": instances},
            {f"attack_{i}": path for i, path in enumerate(attack_paths)},
            {"vgg16": int(settings["vgg16"]["seed"])},
        ),
        {"models": records, "vgg16": vgg},
    )


def _row_record(row: Any) -> dict[str, Any]:
    return {
        "layer": row.name,
        "kind": row.kind,
        "size": row.size,
        "stride": row.stride,
        "bound": row.bound,
        "activation": row.activation,
    }


def _vgg_bounds(settings: Mapping[str, Any], job: Job, logger: logging.Logger) -> dict[str, Any]:
    """VGG-16's layer bounds (random weights unless the real ones are an input)."""
    if not settings["enabled"]:
        return {}
    from fooled.models import vgg16
    from fooled.studies.szegedy import bounds as lipschitz

    weights = settings["weights"]
    weights_path = job.input.get("vgg16_weights")
    if weights == "imagenet" and not weights_path:
        raise ValueError(
            "bounds.vgg16.weights is 'imagenet' but the job has no vgg16_weights input"
        )
    model = vgg16.build_model(
        "vgg16",
        weights,
        weights_path=weights_path,
        input_size=int(settings["input_size"]),
        seed=int(settings["seed"]),
    )
    with Progress(1, "VGG-16 bounds", "network", logger) as progress, single_threaded_blas():
        rows = lipschitz.layer_bounds(model)
        progress.update(1)
    total = lipschitz.network_bound(rows)
    logger.info("VGG-16 (%s weights, %d px): bound %.4g", weights, settings["input_size"], total)
    return {
        "weights": weights,
        "comparable": weights == "imagenet",
        "input_size": int(settings["input_size"]),
        "layers": [_row_record(row) for row in rows if row.kind in ("conv", "dense")],
        "network_bound": total,
    }


# ----------------------------------------------------------------------------- report


def report(job: Job, logger: logging.Logger) -> None:
    """The study's report section (rule ``szegedy_report``: :mod:`fooled.studies.szegedy.report`,
    which the rule's script runs without this module)."""
    from fooled.report.study import section_stage
    from fooled.studies.szegedy import report as section

    section_stage(section)(job, logger)

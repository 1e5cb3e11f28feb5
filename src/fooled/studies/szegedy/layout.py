"""Where the Szegedy study's artifacts lie (every path of the study, declared once)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fooled.core import batches
from fooled.core.layout import Layout, StudyLayout, artifacts
from fooled.studies.szegedy.settings import model_instances

LAYOUT = Layout(
    "results/szegedy",
    artifacts(
        model=("models/{name}/seed{seed}/model.keras", "one of the paper's models, trained"),
        metrics=(
            "models/{name}/seed{seed}/metrics.h5",
            "its training curves, test error and each test image's predicted class",
        ),
        attack=(
            "models/{name}/seed{seed}/attack.h5",
            "its box-constrained L-BFGS adversarial examples: images, targets, distortions",
        ),
        attack_train=(
            "models/{name}/seed{seed}/attack_train.h5",
            "the same attack on images of the model's own training set (Table 1's distortions "
            "are over the training set)",
        ),
        transfer=(
            "transfer.h5",
            "every model's adversarial examples classified by every other model (Tables 2-4)",
        ),
        adversarial_model=(
            "adversarial/seed{seed}/model.keras",
            "the base model trained on a pool of its own adversarial examples",
        ),
        adversarial_metrics=(
            "adversarial/seed{seed}/metrics.h5",
            "its test error and the error of its adversarial examples",
        ),
        batch=(
            "batches/{batch}",
            "models trained and attacked in one job (models_per_job), their model, metrics "
            "and attack files laid out as above below it; copied into place",
        ),
        units=("units.h5", "natural-basis units against random directions (Section 3)"),
        bounds=("bounds.h5", "upper Lipschitz bounds of every layer (Table 5)"),
    ),
    "the Szegedy study",
)

# A model instance's files (trained, then attacked, in a batch job, then copied into place).
PER_INSTANCE = ("model", "metrics", "attack")
PER_BASE_SEED = ("adversarial_model", "adversarial_metrics")


def base_seeds(section: Mapping[str, Any], experiments: Mapping[str, Mapping[str, Any]]) -> list:
    """The seeds of adversarial training's base model (none when it is off)."""
    base = section["adversarial_training"]["base"]
    if not section["adversarial_training"]["enabled"] or base not in experiments:
        return []
    return [int(seed) for seed in experiments[base]["seeds"]]


def files(
    artifact: str,
    section: Mapping[str, Any],
    experiments: Mapping[str, Mapping[str, Any]],
    names: list[str] | None = None,
) -> list[str]:
    """An artifact's files in a run: every model at every seed (of ``names``), in list order."""
    if artifact == "attack_train":
        if not section["train_attack"]["n_images"]:
            return []
        return [
            LAYOUT.path(artifact, name=instance.name, seed=instance.seed)
            for instance in model_instances(experiments)
            if names is None or instance.name in names
        ]
    if artifact in PER_INSTANCE:
        return [
            LAYOUT.path(artifact, name=instance.name, seed=instance.seed)
            for instance in model_instances(experiments)
            if names is None or instance.name in names
        ]
    if artifact in PER_BASE_SEED:
        return [LAYOUT.path(artifact, seed=seed) for seed in base_seeds(section, experiments)]
    if artifact == "batch":
        return [LAYOUT.path(artifact, batch=batch) for batch in model_batches(section, experiments)]
    return [LAYOUT.path(artifact)]


STUDY = StudyLayout(LAYOUT, files)


def model_batches(
    section: Mapping[str, Any], experiments: Mapping[str, Mapping[str, Any]]
) -> dict[str, list[tuple[str, str]]]:
    """The models (name, seed) of each job, ``models_per_job`` of them in list order."""
    instances = [(instance.name, str(instance.seed)) for instance in model_instances(experiments)]
    return batches.split(instances, int(section["models_per_job"]), "models")


def batch_of(
    section: Mapping[str, Any], experiments: Mapping[str, Mapping[str, Any]]
) -> dict[tuple[str, str], str]:
    """Each model's job (:func:`model_batches`), keyed by (name, seed)."""
    return batches.owners(model_batches(section, experiments))


def instance_params(
    experiments: Mapping[str, Mapping[str, Any]], names: list[str] | None = None
) -> list[dict[str, Any]]:
    """``params.models`` of a job over many model instances (in :func:`files`' order)."""
    return [
        instance.params()
        for instance in model_instances(experiments)
        if names is None or instance.name in names
    ]


def vgg16_weights_wanted(section: Mapping[str, Any]) -> bool:
    """Whether the bounds read VGG-16's downloaded weights (else random weights)."""
    vgg16 = section["bounds"]["vgg16"]
    return bool(vgg16["enabled"] and vgg16["weights"] == "imagenet")


def section_inputs(
    section: Mapping[str, Any], experiments: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """The report's inputs."""
    return {
        "metrics": files("metrics", section, experiments),
        "attacks": files("attack", section, experiments),
        "train_attacks": files("attack_train", section, experiments),
        "transfer": LAYOUT.path("transfer"),
        "units": LAYOUT.path("units"),
        "bounds": LAYOUT.path("bounds"),
        "adversarial": files("adversarial_metrics", section, experiments),
    }

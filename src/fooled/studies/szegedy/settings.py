"""The Szegedy study's configuration, read without TensorFlow (the Snakefile imports it).

An *experiment* (config/studies/szegedy/*.yaml, schema
``workflow/schemas/studies/szegedy.schema.yaml``) is one model: its
architecture, weight decay, training set (``all``, ``P1``, ``P2``), training
settings, the ``seeds`` it is trained with, the paper row it is compared with
and the table it belongs to (``table1``: Tables 1 and 2; ``cross_training``:
Tables 3 and 4). A *model instance* is one experiment at one seed; every
per-model artifact is per instance.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

STUDY = "szegedy"
TABLES = ("table1", "cross_training", "none")
# Keys of an experiment that decide how its model is trained (a job's params).
TRAINING_KEYS = (
    "architecture",
    "weight_decay",
    "training_set",
    "epochs",
    "batch_size",
    "learning_rate",
    "max_train_samples",
    "autoencoder_epochs",
)


@dataclass(frozen=True)
class ModelInstance:
    """One experiment trained at one seed; ``key`` (``name/seedN``) names its files."""

    name: str
    seed: int
    settings: dict[str, Any]

    @property
    def key(self) -> str:
        return f"{self.name}/seed{self.seed}"

    @property
    def label(self) -> str:
        """The paper's row name when there is one, else the experiment's name."""
        return self.settings.get("paper_row") or self.name

    def training(self) -> dict[str, Any]:
        """What the training job depends on: the training keys, the seed, the name."""
        settings = {key: self.settings[key] for key in TRAINING_KEYS}
        return {"name": self.name, "seed": self.seed, **settings}

    def params(self) -> dict[str, Any]:
        """What every stage's ``params.models`` entry holds: training keys, table, paper row."""
        return {
            **self.training(),
            "table": self.settings["table"],
            "paper_row": self.settings.get("paper_row"),
        }


def model_instances(experiments: Mapping[str, Mapping[str, Any]]) -> list[ModelInstance]:
    """Every experiment at every one of its seeds, in list order then seed order."""
    return [
        ModelInstance(name, int(seed), dict(settings))
        for name, settings in experiments.items()
        for seed in settings["seeds"]
    ]


def table_models(experiments: Mapping[str, Mapping[str, Any]], table: str) -> list[str]:
    """The experiments of one table, in list order."""
    if table not in TABLES:
        raise ValueError(f"table '{table}' not one of {', '.join(TABLES)}")
    return [name for name, settings in experiments.items() if settings.get("table") == table]


def check_section(section: Mapping[str, Any], experiments: Mapping[str, Mapping[str, Any]]) -> None:
    """Cross-key checks the schema cannot express; one line naming the key (ConfigError-like)."""
    where = f"config: studies.{STUDY}"
    if section.get("enabled") and not experiments:
        raise ValueError(f"{where}: no models (experiment_lists name no experiment)")
    cross = table_models(experiments, "cross_training")
    if cross and len(cross) != 3:
        raise ValueError(
            f"{where}: Tables 3-4 take three models (A and B on P1, C on P2), got "
            f"{len(cross)}: {', '.join(cross)}"
        )
    base = section["adversarial_training"]["base"]
    if section["adversarial_training"]["enabled"] and base not in experiments:
        raise ValueError(
            f"{where}.adversarial_training.base: '{base}' is not an experiment "
            f"(have: {', '.join(experiments)})"
        )
    for name in section["units"]["models"]:
        if name not in experiments:
            raise ValueError(f"{where}.units.models: '{name}' is not an experiment")
    for name in section["bounds"]["models"]:
        if name not in experiments:
            raise ValueError(f"{where}.bounds.models: '{name}' is not an experiment")
    seeds = {name: list(settings["seeds"]) for name, settings in experiments.items()}
    if len({tuple(value) for value in seeds.values()}) > 1:
        # Transfer matrices pair models seed by seed; unequal lists leave cells out.
        first = next(iter(seeds.values()))
        odd = [name for name, value in seeds.items() if value != first]
        raise ValueError(
            f"{where}: every model needs the same seeds (transfer pairs them seed by seed); "
            f"{', '.join(odd)} differ from {first}"
        )


def units_models(section: Mapping[str, Any], experiments: Mapping[str, Mapping[str, Any]]) -> list:
    """The experiments the units analysis covers: those named, else all with a hidden layer."""
    named = list(section["units"]["models"])
    if named:
        return named
    return [name for name, settings in experiments.items() if settings["architecture"] != "fc10"]


def bounds_models(section: Mapping[str, Any], experiments: Mapping[str, Mapping[str, Any]]) -> list:
    """The MNIST experiments whose Lipschitz bounds are computed (all when none are named)."""
    return list(section["bounds"]["models"]) or list(experiments)


def load_section(
    overrides: Mapping[str, Any] | None = None, bases: Sequence[Any] = ()
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The study's section with the schema's defaults under ``overrides``, and its experiments.

    For tests, benchmarks and tools that run the study outside Snakemake; the
    workflow loads the same section through ``fooled.core.config.load_config``.
    """
    from pathlib import Path

    from fooled.core.config import load_experiments, project_schemas

    schemas = project_schemas()
    name = f"studies/{STUDY}.schema.yaml"
    schema, base = schemas.at(name)
    section = schemas.fill_defaults(dict(overrides or {}), schema, base)
    schemas.validate(section, schema, base, f"studies.{STUDY}")
    root = Path(__file__).resolve().parents[4]
    experiments = load_experiments(STUDY, section, schemas, [Path(b) for b in bases] + [root])
    check_section(section, experiments)
    return section, experiments

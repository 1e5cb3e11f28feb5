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
from pathlib import Path
from typing import Any

from fooled.core.config import ConfigSources, LoadedConfig, load_experiments, project_schemas
from fooled.models.architectures import parse_architecture

STUDY = "szegedy"
TABLES = ("table1", "cross_training", "none")
ARCHITECTURES = "fc10, fcA-B-...-10, aeH-10, reluA-B-10"  # fooled.models.architectures
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


def check(loaded: LoadedConfig) -> None:
    """Cross-key checks the schema cannot express, each one line naming the file and key.

    Every experiment's architecture parses and its weight decay fits its Dense
    layers; Tables 3-4 take three models; adversarial training's base, the
    units' and the bounds' models are experiments (the base a sigmoid or ReLU
    MLP); every model has the same seeds (transfer pairs them seed by seed).
    """
    experiments = loaded.experiments[STUDY]
    section = loaded.section(STUDY)
    key = ("studies", STUDY)
    if section["enabled"] and not experiments:
        raise loaded.error((*key, "experiment_lists"), "name no experiment (no models)")
    for name, settings in experiments.items():
        try:
            architecture = parse_architecture(settings["architecture"])
        except ValueError as error:
            problem = str(error).split(": ", 1)[-1]
            raise loaded.experiment_error(
                STUDY, name, ["architecture"], problem, ARCHITECTURES
            ) from None
        decay = settings["weight_decay"]
        if isinstance(decay, list) and len(decay) != architecture.n_dense:
            raise loaded.experiment_error(
                STUDY,
                name,
                ["weight_decay"],
                f"{len(decay)} values for the {architecture.n_dense} Dense layers of "
                f"{architecture.name}",
                f"one number, or a list of {architecture.n_dense}",
            )
    cross = table_models(experiments, "cross_training")
    if cross and len(cross) != 3:
        raise loaded.experiment_error(
            STUDY,
            cross[-1],
            ["table"],
            f"Tables 3-4 take three models (A and B on P1, C on P2), got {len(cross)}: "
            f"{', '.join(cross)}",
        )
    training = section["adversarial_training"]
    if training["enabled"]:
        mlps = [
            name
            for name, settings in experiments.items()
            if parse_architecture(settings["architecture"]).kind != "ae"
        ]
        base = training["base"]
        what = "an experiment of the study" if base not in experiments else "a sigmoid or ReLU MLP"
        loaded.check_name((*key, "adversarial_training", "base"), base, mlps, what)
    hidden = [
        name
        for name, settings in experiments.items()
        if parse_architecture(settings["architecture"]).hidden_layers
    ]
    what = "an experiment with a hidden layer"
    loaded.check_names((*key, "units", "models"), section["units"]["models"], hidden, what)
    names = section["bounds"]["models"]
    loaded.check_names((*key, "bounds", "models"), names, experiments, "an experiment")
    # Transfer matrices pair models seed by seed: every model needs the same seeds.
    seeds = {name: list(settings["seeds"]) for name, settings in experiments.items()}
    first_name, first = next(iter(seeds.items()), (None, []))
    for name, value in seeds.items():
        if value != first:
            raise loaded.experiment_error(
                STUDY,
                name,
                ["seeds"],
                f"{value} differ from {first_name}'s seeds; transfer pairs the models seed by seed",
                str(first),
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
    schemas = project_schemas()
    name = f"studies/{STUDY}.schema.yaml"
    schema, base = schemas.at(name)
    section = schemas.fill_defaults(dict(overrides or {}), schema, base)
    schemas.validate(section, schema, base, "config", prefix=["studies", STUDY])
    root = Path(__file__).resolve().parents[4]
    origins: dict[str, Any] = {}
    experiments = load_experiments(
        STUDY, section, schemas, [Path(b) for b in bases] + [root], origins
    )
    config = {"studies": {STUDY: section}}
    sources = ConfigSources([("config", {"studies": {STUDY: dict(overrides or {})}})], schemas)
    check(LoadedConfig(config, {STUDY: experiments}, {STUDY: origins}, sources))
    return section, experiments

"""The collision studies' checks across config keys, which a JSON Schema cannot express.

The loader (:func:`fooled.core.config.load_config`) runs a study's check once
the whole config and every experiment list are loaded, so an inconsistent
setting stops the workflow before any job, with one line naming the file that
set it, the key and the allowed values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fooled.core.config import LoadedConfig, missing_file, not_ingested
from fooled.data.mnist_patches import check_geometry

MNIST_SIDE = 28  # pixels of an MNIST digit, the seed the macro level's query grid covers

MNIST = "collisions_mnist"
IMAGENET = "collisions_imagenet"


def check_macro(loaded: LoadedConfig, study: str, name: str, settings: Mapping[str, Any]) -> None:
    """A schedule with one value more than boundaries; checkpoints between chunks."""
    schedule = settings["schedule"]
    values, boundaries = schedule["values"], list(schedule["boundaries"])
    if len(values) != len(boundaries) + 1:
        raise loaded.experiment_error(
            study,
            name,
            ["schedule"],
            f"has {len(values)} values and {len(boundaries)} boundaries (need one value more)",
        )
    if boundaries != sorted(set(boundaries)):
        raise loaded.experiment_error(
            study, name, ["schedule", "boundaries"], f"{boundaries} are not increasing"
        )
    every, chunk = settings["checkpoint_every"], settings["chunk_steps"]
    if every and every % chunk:
        raise loaded.experiment_error(
            study,
            name,
            ["checkpoint_every"],
            f"{every} is not a multiple of chunk_steps {chunk}",
            f"0 or a multiple of {chunk}",
        )


def mlp_layers(hidden_units: list[int]) -> dict[str, int]:
    """The MLP's collision layers and their widths: the linear ``fc1``, ``fc2``, ... before
    each ReLU (:func:`fooled.models.mlp.mnist_mlp` names them so)."""
    return {f"fc{depth}": units for depth, units in enumerate(hidden_units, start=1)}


def check_mnist(loaded: LoadedConfig) -> None:
    """Each experiment's layer is one of the MLP's; the paper's case is an experiment."""
    experiments = loaded.experiments[MNIST]
    layers = mlp_layers(loaded.config["models"]["mlp"]["hidden_units"])
    for name, settings in experiments.items():
        layer = settings["layer"]
        if layer not in layers:
            raise loaded.experiment_error(
                MNIST, name, ["layer"], f"{layer!r} is not a hidden layer of models.mlp", layers
            )
        if settings["n_corners"] > layers[layer]:
            raise loaded.experiment_error(
                MNIST,
                name,
                ["n_corners"],
                f"{settings['n_corners']} corners, but layer {layer} of models.mlp has "
                f"{layers[layer]} units",
                f"at most {layers[layer]}",
            )
        if settings["mode"] == "macro":
            check_macro(loaded, MNIST, name, settings)
    patches = loaded.section(MNIST)["mnist_patches"]
    if any(settings["mode"] == "macro" for settings in experiments.values()):
        try:
            check_geometry(MNIST_SIDE, patches["size"], patches["grid"], patches["step"])
        except ValueError as error:
            raise loaded.error(
                ("studies", MNIST, "mnist_patches", "grid"),
                str(error),
                f"(grid - 1) * step + size <= {MNIST_SIDE}",
            ) from None
    key = ("studies", MNIST, "paper_case")
    loaded.check_name(key, loaded.section(MNIST)["paper_case"], experiments, "an experiment")


def check_imagenet(loaded: LoadedConfig) -> None:
    """Macro seeds name a seed image of the patch database; images are files that exist or
    classes that are ingested."""
    dataset = loaded.config["datasets"]["imagenet"]
    seeds = [seed["name"] for seed in dataset["seeds"]]
    for name, settings in loaded.experiments[IMAGENET].items():
        for role in ("seed", "target"):
            image = settings[role]
            if not isinstance(image, Mapping):
                continue  # a macro seed: a seed image's name
            problem = "path" in image and missing_file(image["path"])
            if problem:
                raise loaded.experiment_error(IMAGENET, name, [role, "path"], problem)
            problem = "synset" in image and not_ingested(dataset, image["synset"])
            if problem:
                key = [role, "synset"]
                raise loaded.experiment_error(IMAGENET, name, key, problem, dataset["classes"])
        if settings["mode"] == "macro":
            if settings["seed"] not in seeds:
                raise loaded.experiment_error(
                    IMAGENET,
                    name,
                    ["seed"],
                    f"{settings['seed']!r} names no datasets.imagenet.seeds entry",
                    seeds,
                )
            check_macro(loaded, IMAGENET, name, settings)

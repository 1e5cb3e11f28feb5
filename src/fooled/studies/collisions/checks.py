"""The collision studies' checks across config keys, which a JSON Schema cannot express.

The loader (:func:`fooled.core.config.load_config`) calls a study's check on
every merged experiment, so an inconsistent setting stops the workflow
before any job, with one line naming the list and the experiment.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fooled.core.config import ConfigError


def check_macro(settings: Mapping[str, Any], where: str) -> None:
    """A schedule with one value more than boundaries; checkpoints between chunks."""
    schedule = settings["schedule"]
    if len(schedule["values"]) != len(schedule["boundaries"]) + 1:
        raise ConfigError(
            f"{where}: schedule has {len(schedule['values'])} values and "
            f"{len(schedule['boundaries'])} boundaries (need one value more)"
        )
    boundaries = list(schedule["boundaries"])
    if boundaries != sorted(set(boundaries)):
        raise ConfigError(f"{where}: schedule boundaries {boundaries} are not increasing")
    every, chunk = settings["checkpoint_every"], settings["chunk_steps"]
    if every and every % chunk:
        raise ConfigError(
            f"{where}: checkpoint_every {every} is not a multiple of chunk_steps {chunk}"
        )


def check_mnist(settings: Mapping[str, Any], where: str, config: Mapping[str, Any]) -> None:
    if settings.get("mode") == "macro":
        check_macro(settings, where)


def check_imagenet(settings: Mapping[str, Any], where: str, config: Mapping[str, Any]) -> None:
    """Macro seeds name a seed image of the patch database (datasets.imagenet.seeds)."""
    if settings["mode"] == "macro":
        seeds = {seed["name"] for seed in config["datasets"]["imagenet"]["seeds"]}
        if settings["seed"] not in seeds:
            raise ConfigError(
                f"{where}: a macro seed names a datasets.imagenet.seeds entry "
                f"({', '.join(sorted(seeds)) or 'none defined'}), got {settings['seed']!r}"
            )
        check_macro(settings, where)

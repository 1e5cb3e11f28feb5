"""Configuration: JSON-Schema validation with one-line errors, and experiment lists.

The workflow calls ``load_config`` when it starts, so a bad key, a wrong
type or an out-of-range class stops the run before any job is scheduled,
with one line that names the offending key. Experiments live in separate
YAML lists (``experiment_lists``) and inherit ``collide_defaults``; the
merged settings of one experiment are that experiment's Snakemake params,
so changing one experiment reruns only its own jobs.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema
import yaml


class ConfigError(ValueError):
    """The configuration does not match its schema; the message is one line."""


def _location(path: Any) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "<top level>"


def _one_line(error: jsonschema.ValidationError, source: str) -> str:
    location = _location(error.absolute_path)
    if error.validator == "additionalProperties":
        allowed = set(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - allowed)
        keys = ", ".join(f"{location}.{key}" if error.absolute_path else key for key in unknown)
        return f"{source}: unknown key {keys} (allowed: {', '.join(sorted(allowed))})"
    if error.validator == "required":
        return f"{source}: {location}: {error.message}"
    return f"{source}: {location}: {error.message}"


def validate(document: Any, schema: Mapping[str, Any], source: str) -> None:
    """Raise ConfigError naming the first (most relevant) violation."""
    validator = jsonschema.Draft202012Validator(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(document))
    if error is not None:
        raise ConfigError(_one_line(error, source))


def merge_defaults(defaults: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` over ``defaults``, nested sections merged key by key (inputs untouched)."""
    merged = copy.deepcopy(dict(defaults))
    for key, value in values.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_defaults(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def read_yaml(path: str | Path) -> Any:
    try:
        with open(path) as handle:
            return yaml.safe_load(handle)
    except FileNotFoundError as error:
        raise ConfigError(f"{path}: file not found") from error
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML ({' '.join(str(error).split())})") from error


def load_experiments(
    config: Mapping[str, Any], experiments_schema: Mapping[str, Any], base: Path = Path(".")
) -> dict[str, dict[str, Any]]:
    """Read every experiment list, validate it, and merge in ``collide_defaults``."""
    experiments: dict[str, dict[str, Any]] = {}
    for list_path in config.get("experiment_lists", []):
        path = base / list_path
        entries = read_yaml(path)
        validate(entries, experiments_schema, str(list_path))
        for entry in entries:
            name = entry["name"]
            if name in experiments:
                raise ConfigError(f"{list_path}: experiment name '{name}' is used twice")
            merged = copy.deepcopy(dict(config["collide_defaults"]))
            merged.update(copy.deepcopy(entry))
            experiments[name] = merged
    if not experiments:
        raise ConfigError("config: experiment_lists name no experiment")
    return experiments


def load_config(
    config: Mapping[str, Any], schema_dir: str | Path, base: Path = Path(".")
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Validate the main config and its experiment lists; return both."""
    schema_dir = Path(schema_dir)
    validate(dict(config), read_yaml(schema_dir / "config.schema.yaml"), "config")
    experiments = load_experiments(
        config, read_yaml(schema_dir / "experiments.schema.yaml"), base=base
    )
    return dict(config), experiments

"""Configuration of the macro-level and ImageNet collision experiments (no TensorFlow here).

Two optional sections of the main config, each validated against its own
schema in ``workflow/schemas`` when the workflow starts:

- ``macro``: the macro-level MNIST study (``defaults``, the ``mnist_patches``
  database and ``experiment_lists``). Its experiments join the micro ones
  (``mode: macro``) so that rules ``interpolate`` and ``report`` treat them alike.
- ``imagenet_collisions``: VGG-16 (or any Keras model) micro and macro
  experiments on ImageNet images (paper Tables 2, 3, 4).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fooled.core.config import ConfigError, merge_defaults, read_yaml, validate

# The paper's ImageNet numbers (SPEC section 4), by table row.
PAPER_IMAGENET: dict[str, dict[str, Any]] = {
    "2a": {
        "case": "home theater → jeep, micro",
        "dist_dataset_mean": 37538.22,
        "dist_corners_mean": 4906.56,
        "interp_top_class_accuracy": 1.0,
        "target_prob": 0.993,
        "interp_prob_mean": 0.995,
    },
    "2b": {
        "case": "Blenheim spaniel → goldfish, micro",
        "dist_dataset_mean": 37538.22,
        "dist_corners_mean": 8959.69,
        "interp_top_class_accuracy": 1.0,
        "target_prob": 0.999,
        "interp_prob_mean": 0.999,
    },
    "3a": {
        "case": "trimaran → obelisk, macro",
        "dist_dataset_mean": 37538.22,
        "dist_corners_mean": 5909.37,
        "interp_top_class_accuracy": 1.0,
        "target_prob": 0.997,
        "interp_prob_mean": 0.992,
    },
    "3b": {
        "case": 'eggnog → "rubber eraser" (a misclassified carton), macro',
        "dist_dataset_mean": 37538.22,
        "dist_corners_mean": 6074.86,
        "interp_top_class_accuracy": 1.0,
        "target_prob": 0.579,
        "interp_prob_mean": 0.585,
    },
    "4": {
        "case": "church → cleaver, macro",
        "dist_dataset_mean": 37538.22,
        "dist_corners_mean": 9587.92,
        "interp_top_class_accuracy": 1.0,
        "target_prob": 0.999,
        "interp_prob_mean": 0.8,
    },
}

IMAGENET_DEFAULTS: dict[str, Any] = {
    "enabled": True,
    "model": {
        "architecture": "vgg16",
        "file": None,
        "weights": "imagenet",
        "layer": "fc1",
        "preprocess": "vgg16",
        "input_size": 224,
        "seed": 0,
    },
    "micro": {
        "n_corners": 5,
        "optimizer": "adam",
        "learning_rate": 1.0,
        "w_pos": 1.0,
        "w_neg": 1.0,
        "threshold": 100.0,
        "max_steps": 2000,
    },
    "macro": {
        "n_corners": 5,
        "w_pos": 1000.0,
        "w_neg": 1.0,
        "w_tv": 100.0,
        "momentum": 0.99,
        "schedule": {
            "boundaries": [2200, 3200, 4700, 7000, 9000, 11000, 13000],
            "values": [0.001, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.01],
        },
        "max_steps": 20000,
        "threshold": 100.0,
        "chunk_steps": 100,
        "checkpoint_every": 1000,
    },
    "interpolate": {"n_samples": 2000, "seed": 0, "n_dataset_images": 1000, "batch_size": 25},
    "experiments": [],
}


def _find_list(path: str, bases: list[Path]) -> Path:
    """An experiment list relative to the working directory, else to the workflow's folder."""
    for base in bases:
        candidate = base / path
        if candidate.is_file():
            return candidate
    return bases[0] / path


def load_macro_experiments(
    config: Mapping[str, Any], schema_dir: str | Path, bases: list[Path]
) -> dict[str, dict[str, Any]]:
    """The macro MNIST experiments (``mode: macro``), ``macro.defaults`` merged in; {} if none."""
    section = config.get("macro")
    if not section:
        return {}
    schema_dir = Path(schema_dir)
    validate(dict(section), read_yaml(schema_dir / "macro.schema.yaml"), "config: macro")
    list_schema = read_yaml(schema_dir / "macro_experiments.schema.yaml")
    experiments: dict[str, dict[str, Any]] = {}
    for list_path in section.get("experiment_lists", []):
        entries = read_yaml(_find_list(list_path, bases)) or []
        validate(entries, list_schema, str(list_path))
        for entry in entries:
            name = entry["name"]
            if name in experiments:
                raise ConfigError(f"{list_path}: experiment name '{name}' is used twice")
            merged = merge_defaults(section["defaults"], entry)
            merged["mode"] = "macro"
            check_macro(merged, f"{list_path}: {name}")
            experiments[name] = merged
    return experiments


def check_macro(settings: Mapping[str, Any], where: str) -> None:
    schedule = settings["schedule"]
    if len(schedule["values"]) != len(schedule["boundaries"]) + 1:
        raise ConfigError(
            f"{where}: schedule has {len(schedule['values'])} values and "
            f"{len(schedule['boundaries'])} boundaries (need one value more)"
        )
    every, chunk = settings["checkpoint_every"], settings["chunk_steps"]
    if every and every % chunk:
        raise ConfigError(
            f"{where}: checkpoint_every {every} is not a multiple of chunk_steps {chunk}"
        )


def load_imagenet_collisions(
    section: Mapping[str, Any] | None, schema_dir: str | Path, seeds: Mapping[str, Any]
) -> dict[str, Any]:
    """The ``imagenet_collisions`` section, defaults filled in and each experiment merged."""
    section = dict(section or {})
    if not section:
        return merge_defaults(IMAGENET_DEFAULTS, {"enabled": False})
    schema = read_yaml(Path(schema_dir) / "imagenet_collisions.schema.yaml")
    validate(section, schema, "config: imagenet_collisions")
    settings = merge_defaults(IMAGENET_DEFAULTS, section)
    names = set()
    resolved = []
    for entry in settings["experiments"]:
        name, mode = entry["name"], entry["mode"]
        where = f"config: imagenet_collisions: {name}"
        if name in names:
            raise ConfigError(f"{where}: name used twice")
        names.add(name)
        merged = merge_defaults(settings[mode], entry.get("settings", {}))
        if mode == "macro":
            if not isinstance(entry["seed"], str) or entry["seed"] not in seeds:
                raise ConfigError(
                    f"{where}: a macro seed names an imagenet.seeds entry "
                    f"({', '.join(sorted(seeds)) or 'none defined'}), got {entry['seed']!r}"
                )
            check_macro(merged, where)
        elif isinstance(entry["seed"], str):
            raise ConfigError(f"{where}: a micro seed is an image (synset and index, or path)")
        if "table" in entry:
            entry = {**entry, "table": str(entry["table"])}
        if entry.get("table") and entry["table"] not in PAPER_IMAGENET:
            raise ConfigError(
                f"{where}: table {entry['table']!r} not one of {', '.join(PAPER_IMAGENET)}"
            )
        resolved.append({**entry, "settings": merged})
    settings["experiments"] = resolved
    model = settings["model"]
    if model["architecture"] == "file" and not model.get("file"):
        raise ConfigError("config: imagenet_collisions.model: architecture file needs `file`")
    return settings


def weights_kind(weights: str) -> str:
    """``imagenet``, ``random`` or ``file``."""
    return weights if weights in ("imagenet", "random") else "file"


# Keras' canonical VGG-16 weights (rule download_vgg16); the MD5 is Keras' published hash.
# Kept here (no TensorFlow import) so the workflow can name them when it starts.
VGG16_URL = (
    "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/"
    "vgg16_weights_tf_dim_ordering_tf_kernels.h5"
)
VGG16_MD5 = "64373286793e3c8b2b4e3219cbf3544b"

# Config validation and the helpers that turn config into file lists.
# A bad config stops the run here, before any job, with one line naming the key.

import sys
from pathlib import Path

from fooled.core.config import ConfigError, load_config

try:
    config, EXPERIMENTS = load_config(config, Path(workflow.basedir) / "workflow" / "schemas")
except ConfigError as error:
    sys.exit(f"Config error: {error}")

# Macro-level MNIST experiments (issue #4, workflow/rules/macro.smk) join the micro ones with
# mode "macro": rules interpolate and report treat both alike; rule collide only the micro ones.
from fooled.studies.collisions.settings import load_macro_experiments

try:
    MACRO_EXPERIMENTS = load_macro_experiments(
        config, Path(workflow.basedir) / "workflow" / "schemas", [Path("."), Path(workflow.basedir)]
    )
    _clash = sorted(set(MACRO_EXPERIMENTS) & set(EXPERIMENTS))
    if _clash:
        raise ConfigError(f"experiment names used by micro and macro lists: {', '.join(_clash)}")
except ConfigError as error:
    sys.exit(f"Config error: {error}")
MICRO_EXPERIMENTS = list(EXPERIMENTS)
EXPERIMENTS = {**EXPERIMENTS, **MACRO_EXPERIMENTS}


wildcard_constraints:
    experiment="|".join(sorted(EXPERIMENTS)),


MNIST_H5 = "resources/mnist/mnist.h5"
MODEL = "results/mnist/model/model.keras"
METRICS = "results/mnist/model/metrics.h5"


def collide_path(name):
    return f"results/mnist/collide/{name}.h5"


def interpolate_path(name):
    return f"results/mnist/interpolate/{name}.h5"


def polytope_path(name):
    return f"results/mnist/polytope/{name}.h5"


def polytope_eligible(settings):
    """The exact LP polytope needs a layer affine in the pixels: micro experiments on fc1."""
    return settings.get("layer") == "fc1" and settings.get("mode", "micro") == "micro"


POLYTOPE_EXPERIMENTS = [
    name for name, settings in EXPERIMENTS.items() if polytope_eligible(settings)
]


def final_outputs():
    return ["results/report/report.html", "results/report/summary.json"]


# ImageNet patch database (issue #3). The `imagenet` section is optional: without it (the
# default MNIST study) its rules exist with the defaults but no target asks for them.
from fooled.data.imagenet import load_settings as load_imagenet_settings

try:
    IMAGENET = load_imagenet_settings(
        config.get("imagenet"), Path(workflow.basedir) / "workflow" / "schemas" / "imagenet.schema.yaml"
    )
except ConfigError as error:
    sys.exit(f"Config error: {error}")

IMAGENET_ENABLED = bool(config.get("imagenet")) and IMAGENET["enabled"]
IMAGENET_SEEDS = {seed["name"]: seed for seed in IMAGENET["seeds"]}
IMAGENET_MANIFEST = "results/imagenet/manifest.h5"
IMAGENET_PATCH_MAP = "results/imagenet/patches.h5"
IMAGENET_INDEX = "results/imagenet/index/patches.faiss"
IMAGENET_INDEX_RECORD = "results/imagenet/index/index.h5"
IMAGENET_INDEX_SUMMARY = "results/imagenet/index/summary.json"
_IMAGENET_INGEST_KEYS = (
    "root", "extract_dir", "classes", "fraction", "min_per_class", "seed", "n_shards", "image_size"
)


def imagenet_shard_path(shard):
    return f"results/imagenet/shards/shard_{shard}.h5"


def imagenet_shard_paths():
    return [imagenet_shard_path(f"{shard:04d}") for shard in range(IMAGENET["n_shards"])]


def imagenet_sources_path(seed):
    return f"results/imagenet/sources/{seed}.h5"


# Each rule's params hold only the settings it depends on, so changing (say) the index
# factory reruns build_index and what follows, never the ingest.
def imagenet_ingest_settings():
    return {key: IMAGENET[key] for key in _IMAGENET_INGEST_KEYS}


def imagenet_patch_settings():
    return imagenet_ingest_settings() | {"patches": IMAGENET["patches"]}


def imagenet_index_settings():
    index = {key: value for key, value in IMAGENET["index"].items() if key != "search_params"}
    return imagenet_patch_settings() | {"index": index}


def imagenet_evaluate_settings():
    return imagenet_patch_settings() | {
        "index": IMAGENET["index"], "benchmark": IMAGENET["benchmark"], "query": IMAGENET["query"]
    }


def imagenet_query_settings():
    return imagenet_patch_settings() | {"index": IMAGENET["index"], "query": IMAGENET["query"]}


def imagenet_outputs():
    """The ImageNet targets: the index's evaluation and every seed's source images."""
    return [IMAGENET_INDEX_SUMMARY] + [imagenet_sources_path(name) for name in IMAGENET_SEEDS]

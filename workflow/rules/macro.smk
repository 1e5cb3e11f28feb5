# Macro-level collisions (issue #4): x = G(P, Q), a per-pixel softmax mixture of source images.
# MNIST: mnist_sources (patch database of training digits -> the seed's sources) -> collide_macro
# -> interpolate (the shared rule) -> report. The MNIST macro experiments are in EXPERIMENTS with
# mode "macro"; rule collide makes the micro ones only.


def macro_sources_path(name):
    return f"results/mnist/sources/{name}.h5"


def macro_checkpoint_path(name):
    # Not an output: Snakemake would delete it before rerunning a killed job.
    return f"results/checkpoints/{name}.h5"


rule mnist_sources:
    input:
        mnist=MNIST_H5,
        metrics=METRICS,
    output:
        macro_sources_path("{experiment}"),
    log:
        "logs/mnist_sources/{experiment}.log",
    params:
        patches=lambda wildcards: config["macro"]["mnist_patches"],
        seed=lambda wildcards: EXPERIMENTS[wildcards.experiment]["seed"],
    wildcard_constraints:
        experiment="|".join(sorted(MACRO_EXPERIMENTS)) or "(?!)",
    threads: 1
    script:
        "../../scripts/mnist_sources.py"


rule collide_macro:
    input:
        sources=macro_sources_path("{experiment}"),
        mnist=MNIST_H5,
        model=MODEL,
        metrics=METRICS,
    output:
        collide_path("{experiment}"),
    log:
        "logs/collide/{experiment}.log",
    params:
        experiment=lambda wildcards: EXPERIMENTS[wildcards.experiment],
        checkpoint=lambda wildcards: macro_checkpoint_path(wildcards.experiment),
    wildcard_constraints:
        experiment="|".join(sorted(MACRO_EXPERIMENTS)) or "(?!)",
    threads: 1
    script:
        "../../scripts/collide_macro.py"


# ImageNet micro (Table 2) and macro (Tables 3, 4) experiments: config section
# `imagenet_collisions` (config/imagenet.yaml; config/imagenet_sample.yaml runs a small
# version with random weights). Macro seeds are `imagenet.seeds` entries: their sources come
# from rule query_sources (workflow/rules/imagenet.smk).
import os

from fooled.studies.collisions.settings import VGG16_MD5, VGG16_URL, load_imagenet_collisions

try:
    IMAGENET_COLLISIONS = load_imagenet_collisions(
        config.get("imagenet_collisions"),
        Path(workflow.basedir) / "workflow" / "schemas",
        IMAGENET_SEEDS,
    )
    if IMAGENET_COLLISIONS["enabled"] and IMAGENET_COLLISIONS["experiments"] and not IMAGENET_ENABLED:
        raise ConfigError(
            "imagenet_collisions: the experiments need the `imagenet` section (images, sources)"
        )
except ConfigError as error:
    sys.exit(f"Config error: {error}")

IMAGENET_EXPERIMENTS = (
    {entry["name"]: entry for entry in IMAGENET_COLLISIONS["experiments"]}
    if IMAGENET_COLLISIONS["enabled"]
    else {}
)
_clash = sorted(set(IMAGENET_EXPERIMENTS) & set(EXPERIMENTS))
if _clash:
    sys.exit(f"Config error: experiment names used twice (MNIST and ImageNet): {', '.join(_clash)}")
IMAGENET_MODEL = IMAGENET_COLLISIONS["model"]
VGG16_WEIGHTS = "resources/models/vgg16_weights_tf_dim_ordering_tf_kernels.h5"
VGG16_RECORD = "resources/models/vgg16_weights.json"


def imagenet_collide_path(name):
    return f"results/imagenet/collide/{name}.h5"


def imagenet_interpolate_path(name):
    return f"results/imagenet/interpolate/{name}.h5"


def imagenet_model_inputs():
    """The weights file the model needs: the download, a local file, or none (random)."""
    weights = IMAGENET_MODEL["weights"]
    files = {}
    if weights == "imagenet":
        files["weights"] = VGG16_WEIGHTS
    elif weights not in ("random", "file"):
        files["weights"] = os.path.expandvars(os.path.expanduser(weights))
    if IMAGENET_MODEL["architecture"] == "file":
        files["model_file"] = os.path.expandvars(os.path.expanduser(IMAGENET_MODEL["file"]))
    return files


def imagenet_collide_inputs(wildcards):
    entry = IMAGENET_EXPERIMENTS[wildcards.imagenet_experiment]
    files = {"manifest": IMAGENET_MANIFEST, **imagenet_model_inputs()}
    if entry["mode"] == "macro":
        files["sources"] = imagenet_sources_path(entry["seed"])
    return files


rule download_vgg16:
    output:
        weights=VGG16_WEIGHTS,
        record=VGG16_RECORD,
    log:
        "logs/download_vgg16.log",
    params:
        settings={"url": VGG16_URL, "md5": VGG16_MD5, "retries": 3},
    threads: 1
    script:
        "../../scripts/download_vgg16.py"


rule collide_imagenet:
    input:
        unpack(imagenet_collide_inputs),
    output:
        imagenet_collide_path("{imagenet_experiment}"),
    log:
        "logs/collide_imagenet/{imagenet_experiment}.log",
    params:
        experiment=lambda wildcards: IMAGENET_EXPERIMENTS[wildcards.imagenet_experiment],
        model=IMAGENET_MODEL,
        checkpoint=lambda wildcards: macro_checkpoint_path(wildcards.imagenet_experiment),
    wildcard_constraints:
        imagenet_experiment="|".join(sorted(IMAGENET_EXPERIMENTS)) or "(?!)",
    threads: workflow.cores
    resources:
        gpu=1,
    script:
        "../../scripts/collide_imagenet.py"


rule interpolate_imagenet:
    input:
        collide=imagenet_collide_path("{imagenet_experiment}"),
        shards=imagenet_shard_paths(),
        **imagenet_model_inputs(),
    output:
        imagenet_interpolate_path("{imagenet_experiment}"),
    log:
        "logs/interpolate_imagenet/{imagenet_experiment}.log",
    params:
        settings=IMAGENET_COLLISIONS["interpolate"],
        model=IMAGENET_MODEL,
    wildcard_constraints:
        imagenet_experiment="|".join(sorted(IMAGENET_EXPERIMENTS)) or "(?!)",
    threads: workflow.cores
    script:
        "../../scripts/interpolate_imagenet.py"

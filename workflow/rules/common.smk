# The config, loaded once: validated against workflow/schemas/ with every default filled in,
# each study's experiment lists read and merged. A bad config stops the run here, before any
# job, with one line naming the file and key. Below: path helpers and the enabled studies.

import os
import sys
from pathlib import Path

from fooled.core import integrity
from fooled.core.config import ConfigError, ConfigSources, Schemas, load_config
from fooled.data.imagenet import check_settings as check_imagenet_dataset
from fooled.studies.collisions import checks as collisions_checks
from fooled.studies.defences import checks as defences_checks
from fooled.studies.fooling import checks as fooling_checks
from fooled.studies.szegedy import settings as szegedy_settings

# Jobs import the project's package from this checkout, also inside the per-rule conda
# environments (workflow/envs/), which hold its dependencies only.
SOURCE = Path(workflow.basedir) / "src"
os.environ.update(
    PYTHONPATH=os.pathsep.join(filter(None, [str(SOURCE), os.getenv("PYTHONPATH")]))
)

# Each study's checks across keys and studies (names, classes, files), run once all is loaded.
STUDY_CHECKS = {
    "collisions_mnist": collisions_checks.check_mnist,
    "collisions_imagenet": collisions_checks.check_imagenet,
    "szegedy": szegedy_settings.check,
    "fooling": fooling_checks.check,
    "defences": defences_checks.check,
}
try:
    SCHEMAS = Schemas(Path(workflow.basedir) / "workflow" / "schemas")
    config, EXPERIMENTS = load_config(
        config,
        SCHEMAS,
        [Path("."), Path(workflow.basedir)],
        STUDY_CHECKS,
        ConfigSources.from_workflow(workflow, SCHEMAS),
        [lambda loaded: check_imagenet_dataset(loaded.config["datasets"]["imagenet"])],
    )
except ConfigError as error:
    sys.exit(f"Config error: {error}")

STUDIES = config["studies"]


# Threads of the rules that use several (training, the ImageNet index and VGG-16): Snakemake
# gives a job at most --cores, so on a laptop they take what there is; cluster jobs take the
# SLURM profile's set-threads. (Not workflow.cores: `snakemake --report` runs without cores.)
MAX_THREADS = 16


def enabled(study):
    return STUDIES[study]["enabled"]


def experiments(study, mode=None):
    """A study's experiments (of one mode), name -> merged settings."""
    return {
        name: settings
        for name, settings in EXPERIMENTS[study].items()
        if mode is None or settings.get("mode") == mode
    }


def names_pattern(names):
    """A wildcard constraint matching exactly these names (none: matches nothing)."""
    return "|".join(sorted(names)) or "(?!)"


def benchmark(rule_name, wildcard=None):
    """Where a rule's `benchmark:` file goes: results/benchmarks/<rule>/<wildcard value>.tsv."""
    name = f"{{{wildcard}}}" if wildcard else "job"
    return f"results/benchmarks/{rule_name}/{name}.tsv"


def section_files(study):
    """A study's report section: the files rule report joins."""
    folder = f"results/report/{study}"
    return {"html": f"{folder}/section.html", "summary": f"{folder}/summary.json"}


# Damaged artifacts (a checksum that no longer matches, an HDF5 or Keras file that does not
# open, one moved aside by a run that stopped before making it again): surveyed read-only
# here, moved aside and asked for again while the DAG is built (damaged_targets, an input of
# every target rule), so the jobs that make them and every job after them run again
# (fooled.core.integrity). Only the main process looks: cluster jobs parse this file too,
# while other jobs write.
SURVEY = (
    integrity.survey(["resources", "results"])
    if workflow.is_main_process
    else integrity.Survey([], [])
)
_REPAIRED = []


def damaged_targets(wildcards):
    """The damaged artifacts to make again; moves them aside unless this is a dry run.

    Called while Snakemake builds the DAG (where a dry run is known), once per run."""
    if not _REPAIRED:
        plugin = workflow.executor_plugin
        executes = plugin is not None and not (
            plugin.common_settings.dryrun_exec or plugin.common_settings.touch_exec
        )
        _REPAIRED.append(
            integrity.repair(
                SURVEY,
                dry_run=not executes,
                producible=lambda path: any(
                    candidate.is_producer(str(path)) for candidate in workflow.rules
                ),
            )
        )
    return _REPAIRED[0]


# ----------------------------------------------------------------- shared: MNIST and the MLP

MNIST_H5 = "resources/mnist/mnist.h5"
MLP_MODEL = "results/models/mlp/model.keras"
MLP_METRICS = "results/models/mlp/metrics.h5"
LENET_MODEL = "results/models/lenet/model.keras"
LENET_METRICS = "results/models/lenet/metrics.h5"
# The MNIST networks a study can name in its experiments (`model:`), file and metrics.
MNIST_MODELS = {"mlp": (MLP_MODEL, MLP_METRICS), "lenet": (LENET_MODEL, LENET_METRICS)}

# ----------------------------------------------------------------- shared: the ImageNet classifier

IMAGENET_MODEL = config["models"]["imagenet"]
VGG16_WEIGHTS = "resources/models/vgg16_weights_tf_dim_ordering_tf_kernels.h5"
VGG16_RECORD = "resources/models/vgg16_weights.json"


def imagenet_model_inputs():
    """The files the ImageNet classifier needs: the download, a local file, or none (random)."""
    weights = IMAGENET_MODEL["weights"]
    files = {}
    if weights == "imagenet":
        files["weights"] = VGG16_WEIGHTS
    elif weights not in ("random", "file"):
        files["weights"] = os.path.expandvars(os.path.expanduser(weights))
    if IMAGENET_MODEL["architecture"] == "file":
        files["model_file"] = os.path.expandvars(
            os.path.expanduser(IMAGENET_MODEL["file"])
        )
    return files


# ----------------------------------------------------------------- shared: the ImageNet patch database

IMAGENET = config["datasets"]["imagenet"]
IMAGENET_SEEDS = {seed["name"]: seed for seed in IMAGENET["seeds"]}
IMAGENET_MANIFEST = "results/imagenet/manifest.h5"
IMAGENET_PATCH_MAP = "results/imagenet/patches.h5"
IMAGENET_INDEX = "results/imagenet/index/patches.faiss"
IMAGENET_INDEX_RECORD = "results/imagenet/index/index.h5"
IMAGENET_INDEX_SUMMARY = "results/imagenet/index/summary.json"
_IMAGENET_INGEST_KEYS = (
    "root",
    "extract_dir",
    "classes",
    "fraction",
    "min_per_class",
    "seed",
    "n_shards",
    "image_size",
)


def imagenet_shard_path(shard):
    return f"results/imagenet/shards/shard_{shard}.h5"


def imagenet_shard_paths():
    return [
        imagenet_shard_path(f"{shard:04d}") for shard in range(IMAGENET["n_shards"])
    ]


def imagenet_sources_path(seed):
    return f"results/imagenet/sources/{seed}.h5"


# Each rule's params hold only the settings it depends on, so changing (say) the index
# factory reruns build_index and what follows, never the ingest.
def imagenet_ingest_settings():
    return {key: IMAGENET[key] for key in _IMAGENET_INGEST_KEYS}


def imagenet_patch_settings():
    return imagenet_ingest_settings() | {"patches": IMAGENET["patches"]}


def imagenet_index_settings():
    index = {
        key: value for key, value in IMAGENET["index"].items() if key != "search_params"
    }
    return imagenet_patch_settings() | {"index": index}


def imagenet_evaluate_settings():
    return imagenet_patch_settings() | {
        "index": IMAGENET["index"],
        "benchmark": IMAGENET["benchmark"],
        "query": IMAGENET["query"],
    }


def imagenet_query_settings():
    return imagenet_patch_settings() | {
        "index": IMAGENET["index"],
        "query": IMAGENET["query"],
    }


def search_index_files():
    """The FAISS index, unless the search is exact (auto decides where the job runs: keep it)."""
    if IMAGENET["index"]["mode"] == "exact":
        return {}
    return {"index": IMAGENET_INDEX, "record": IMAGENET_INDEX_RECORD}


def imagenet_outputs():
    """The patch database's targets: the index's evaluation and every seed's source images."""
    return [IMAGENET_INDEX_SUMMARY] + [
        imagenet_sources_path(name) for name in IMAGENET_SEEDS
    ]


def checkpoint_path(study, name):
    # Not an output: Snakemake would delete it before rerunning a killed job.
    return f"results/checkpoints/{study}/{name}.h5"


# ----------------------------------------------------------------- study: collisions_mnist

CM = "results/collisions_mnist"
CM_MICRO = experiments("collisions_mnist", "micro")
CM_MACRO = experiments("collisions_mnist", "macro")
CM_ALL = list(EXPERIMENTS["collisions_mnist"])


def cm_path(stage, name):
    return f"{CM}/{stage}/{name}.h5"


def collisions_mnist_section_inputs():
    return {
        "metrics": MLP_METRICS,
        "collide": [cm_path("collide", name) for name in CM_ALL],
        "interpolate": [cm_path("interpolate", name) for name in CM_ALL],
        "polytope": [cm_path("polytope", name) for name in CM_MICRO],
    }


# ----------------------------------------------------------------- study: collisions_imagenet

CI = "results/collisions_imagenet"
CI_ALL = EXPERIMENTS["collisions_imagenet"]


def ci_path(stage, name):
    return f"{CI}/{stage}/{name}.h5"


def ci_collide_inputs(wildcards):
    entry = CI_ALL[wildcards.experiment]
    files = {"manifest": IMAGENET_MANIFEST, **imagenet_model_inputs()}
    if entry["mode"] == "macro":
        files["sources"] = imagenet_sources_path(entry["seed"])
    return files


def collisions_imagenet_section_inputs():
    return {
        "collide": [ci_path("collide", name) for name in CI_ALL],
        "interpolate": [ci_path("interpolate", name) for name in CI_ALL],
        "index": [IMAGENET_INDEX_SUMMARY],
    }


# ----------------------------------------------------------------- study: szegedy

SZ = "results/szegedy"
SZEGEDY = STUDIES["szegedy"]
SZ_EXPERIMENTS = EXPERIMENTS["szegedy"]
SZ_INSTANCES = {
    (instance.name, str(instance.seed)): instance
    for instance in szegedy_settings.model_instances(SZ_EXPERIMENTS)
}


def sz_file(kind, name, seed):
    """A model instance's model, metrics or attack file (kind: model.keras, metrics.h5, ...)."""
    return f"{SZ}/models/{name}/seed{seed}/{kind}"


def sz_files(kind, names=None):
    """Every instance's file of one kind (of the named experiments), in instance order."""
    return [
        sz_file(kind, name, seed)
        for (name, seed) in SZ_INSTANCES
        if names is None or name in names
    ]


def sz_params(names=None):
    """params.models of a job over many instances (their order is the files' order)."""
    return [
        instance.params()
        for (name, _), instance in SZ_INSTANCES.items()
        if names is None or name in names
    ]


SZ_UNITS = (
    szegedy_settings.units_models(SZEGEDY, SZ_EXPERIMENTS) if SZ_EXPERIMENTS else []
)
SZ_BOUNDS = (
    szegedy_settings.bounds_models(SZEGEDY, SZ_EXPERIMENTS) if SZ_EXPERIMENTS else []
)
SZ_BASE = SZEGEDY["adversarial_training"]["base"]
SZ_ADVERSARIAL = (
    SZEGEDY["adversarial_training"]["enabled"] and SZ_BASE in SZ_EXPERIMENTS
)
SZ_BASE_SEEDS = (
    [str(seed) for seed in SZ_EXPERIMENTS[SZ_BASE]["seeds"]] if SZ_ADVERSARIAL else []
)


def sz_vgg16_inputs():
    """VGG-16's downloaded weights, when the bounds ask for them (else random weights)."""
    vgg16 = SZEGEDY["bounds"]["vgg16"]
    wanted = vgg16["enabled"] and vgg16["weights"] == "imagenet"
    return {"vgg16_weights": VGG16_WEIGHTS} if wanted else {}


def szegedy_section_inputs():
    return {
        "metrics": sz_files("metrics.h5"),
        "attacks": sz_files("attack.h5"),
        "transfer": f"{SZ}/transfer.h5",
        "units": f"{SZ}/units.h5",
        "bounds": f"{SZ}/bounds.h5",
        "adversarial": [
            f"{SZ}/adversarial/seed{seed}/metrics.h5" for seed in SZ_BASE_SEEDS
        ],
    }


# ----------------------------------------------------------------- study: fooling

FO = "results/fooling"
FOOLING = STUDIES["fooling"]
FO_EVOLVE = experiments("fooling", "evolve")
FO_ASCEND = experiments("fooling", "ascend")
FO_RETRAIN = experiments("fooling", "retrain")
FO_ALL = EXPERIMENTS["fooling"]


def fooling_inputs(wildcards):
    """The network an experiment attacks: an MNIST model file, or the ImageNet classifier."""
    model = FO_ALL[wildcards.experiment]["model"]
    if model == "vgg16":
        return imagenet_model_inputs()
    return {"model": MNIST_MODELS[model][0], "mnist": MNIST_H5}


def fooling_imagenet(wildcards):
    """models.imagenet for VGG-16 experiments only (no rerun of MNIST jobs when it changes)."""
    return IMAGENET_MODEL if FO_ALL[wildcards.experiment]["model"] == "vgg16" else {}


def fooling_outputs(mode):
    if mode == "evolve":
        return [
            f"{FO}/evolve/{name}_{run}.h5"
            for name, settings in FO_EVOLVE.items()
            for run in range(settings["runs"])
        ]
    names = FO_ASCEND if mode == "ascend" else FO_RETRAIN
    return [f"{FO}/{mode}/{name}.h5" for name in names]


def fooling_section_inputs():
    models = {settings["model"] for settings in FO_ALL.values()} - {"vgg16"}
    return {
        "evolve": fooling_outputs("evolve"),
        "ascend": fooling_outputs("ascend"),
        "retrain": fooling_outputs("retrain"),
        **{f"metrics_{model}": MNIST_MODELS[model][1] for model in sorted(models)},
    }


# ----------------------------------------------------------------- study: defences

DF = "results/defences"
DEFENCES = STUDIES["defences"]


def other_studies_inputs():
    """The other studies' artifacts the detector scores, when those studies are in the run."""
    found = {
        "lbfgs": [],
        "evolved": [],
        "ascent": [],
        "collisions": [],
        "interpolations": [],
    }
    if enabled("szegedy"):
        found["lbfgs"] = sz_files("attack.h5")
    if enabled("fooling"):
        found["evolved"] = fooling_outputs("evolve")
        found["ascent"] = fooling_outputs("ascend")
    if enabled("collisions_mnist"):
        found["collisions"] = [cm_path("collide", name) for name in CM_ALL]
        found["interpolations"] = [cm_path("interpolate", name) for name in CM_ALL]
        found["sources"] = [cm_path("sources", name) for name in CM_MACRO]
    return found


def defences_adaptive_collisions():
    """The collision experiments the adaptive stage redoes (null in the config: every one)."""
    if not enabled("collisions_mnist"):
        return []
    wanted = DEFENCES["adaptive"]["collision_experiments"]
    names = CM_ALL if wanted is None else [name for name in CM_ALL if name in wanted]
    return [cm_path("collide", name) for name in names]


def defences_adaptive_sources():
    chosen = {Path(path).stem for path in defences_adaptive_collisions()}
    return [cm_path("sources", name) for name in CM_MACRO if name in chosen]


# ----------------------------------------------------------------- the report

# The studies in the order the report shows them; rule all asks for the enabled ones.
STUDY_ORDER = [
    "collisions_mnist",
    "collisions_imagenet",
    "szegedy",
    "fooling",
    "defences",
]
ENABLED = [study for study in STUDY_ORDER if enabled(study)]


def report_inputs():
    return {
        "html": [section_files(study)["html"] for study in ENABLED],
        "summary": [section_files(study)["summary"] for study in ENABLED],
    }

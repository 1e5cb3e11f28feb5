# The config, loaded once: validated against workflow/schemas/ with every default filled in,
# each study's experiment lists read and merged. A bad config stops the run here, before any
# job, with one line naming the file and key. Below: path helpers and the enabled studies.

import os
import sys
from pathlib import Path

from fooled.core import integrity
from fooled.core.config import ConfigError, ConfigSources, Schemas, load_config
from fooled.core.layout import WORKFLOW
from fooled.data.imagenet import check_settings as check_imagenet_dataset
from fooled.data.layout import IMAGENET as IMAGENET_FILES
from fooled.data.layout import MNIST
from fooled.models.layout import MNIST_NETWORKS, MODELS, VGG16, check_replicate_seeds
from fooled.report.layout import REPORT
from fooled.report.layout import section_files as report_section_files
from fooled.studies import registry

# Jobs import the project's package from the checkout (CHECKOUT, set in the Snakefile),
# also inside the per-rule conda environments (workflow/envs/), which hold its dependencies.
SOURCE = CHECKOUT / "src"
os.environ.update(
    PYTHONPATH=os.pathsep.join(filter(None, [str(SOURCE), os.getenv("PYTHONPATH")]))
)

# The studies (fooled.studies.registry): their schemas, their checks across keys and studies
# (names, classes, files; run once all is loaded), their rule files and report sections.
try:
    SCHEMAS = Schemas(CHECKOUT / "workflow" / "schemas", studies=registry.names())
    config, EXPERIMENTS = load_config(
        config,
        SCHEMAS,
        [Path("."), CHECKOUT],
        registry.checks(),
        ConfigSources.from_workflow(workflow, SCHEMAS),
        [
            lambda loaded: check_imagenet_dataset(
                loaded.config["datasets"]["imagenet"]
            ),
            lambda loaded: check_replicate_seeds(loaded.config["models"]),
        ],
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
    """Where a rule's `benchmark:` file goes: one per job, named by its wildcard's value."""
    return WORKFLOW.path(
        "benchmark", rule=rule_name, job=f"{{{wildcard}}}" if wildcard else "job"
    )


def checkpoint_path(study, name):
    # Not an output: Snakemake would delete it before rerunning a killed job.
    return WORKFLOW.path("checkpoint", study=study, name=name)


def section_files(study):
    """A study's report section: the files its report rule writes and rule report joins."""
    return report_section_files(study)


def figures_folder(study):
    return REPORT.path("figures", study=study)


def study_inputs(study, **only):
    """What ``study`` reads from the other studies (its layout's inputs), in this run: name ->
    files (none from a study that is off). ``only``: input name -> the experiments of its
    study to take (the others are left out)."""
    found = {}
    for name in registry.study(study).study_layout().inputs:
        reference = registry.study(study).study_layout().inputs[name]
        chosen = dict(EXPERIMENTS)
        if name in only:
            chosen[reference.owner] = {
                key: value
                for key, value in EXPERIMENTS[reference.owner].items()
                if key in only[name]
            }
        found[name] = registry.resolve(reference, config, chosen)
    return found


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


# ----------------------------------------------------------------- shared: MNIST and its networks

MNIST_H5 = MNIST.path("mnist")
MLP_MODEL = MODELS.path("model", network="mlp")
MLP_METRICS = MODELS.path("metrics", network="mlp")
# The MNIST networks a study can name in its experiments (`model:`), file and metrics.
MNIST_MODELS = {
    network: (
        MODELS.path("model", network=network),
        MODELS.path("metrics", network=network),
    )
    for network in MNIST_NETWORKS
}


def training_settings(network, seed=None):
    """models.<network> as its training jobs get it: without the list of further seeds (a
    new seed adds a job and reruns none), at ``seed`` for one of them."""
    settings = {
        key: value
        for key, value in config["models"][network].items()
        if key != "replicate_seeds"
    }
    return settings if seed is None else settings | {"seed": seed}


# Each network's further seeds (models.<network>.replicate_seeds): file and metrics per seed.
MNIST_REPLICATES = {
    network: (
        MODELS.path("replicate_model", network=network),
        MODELS.path("replicate_metrics", network=network),
    )
    for network in MNIST_NETWORKS
}


# ----------------------------------------------------------------- shared: the ImageNet classifier

IMAGENET_MODEL = config["models"]["imagenet"]
VGG16_WEIGHTS = VGG16.path("weights")
VGG16_RECORD = VGG16.path("record")


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


def network_inputs(network):
    """The files a named network needs: an MNIST network's model (and MNIST), or VGG-16's."""
    if network == "vgg16":
        return imagenet_model_inputs()
    return {"model": MNIST_MODELS[network][0], "mnist": MNIST_H5}


def network_settings(network):
    """models.imagenet for VGG-16 only (no rerun of MNIST jobs when it changes)."""
    return IMAGENET_MODEL if network == "vgg16" else {}


# ----------------------------------------------------------------- shared: the ImageNet patch database

IMAGENET = config["datasets"]["imagenet"]
IMAGENET_SEEDS = {seed["name"]: seed for seed in IMAGENET["seeds"]}
IMAGENET_MANIFEST = IMAGENET_FILES.path("manifest")
IMAGENET_PATCH_MAP = IMAGENET_FILES.path("patch_map")
IMAGENET_INDEX = IMAGENET_FILES.path("index")
IMAGENET_INDEX_RECORD = IMAGENET_FILES.path("index_record")
IMAGENET_INDEX_SUMMARY = IMAGENET_FILES.path("index_summary")
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
    return IMAGENET_FILES.path("shard", shard=shard)


def imagenet_shard_paths():
    return [
        imagenet_shard_path(f"{shard:04d}") for shard in range(IMAGENET["n_shards"])
    ]


def imagenet_sources_path(seed):
    return IMAGENET_FILES.path("sources", seed=seed)


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


def imagenet_experiment_inputs(experiment):
    """An ImageNet experiment's files: the manifest, the classifier, a macro seed's sources."""
    files = {"manifest": IMAGENET_MANIFEST, **imagenet_model_inputs()}
    if experiment["mode"] == "macro":
        files["sources"] = imagenet_sources_path(experiment["seed"])
    return files


# ----------------------------------------------------------------- the report

# The studies in the registry's order; rule all and the report take the enabled ones.
ENABLED = [name for name in registry.names() if enabled(name)]


def report_inputs():
    return {
        "html": [section_files(study)["html"] for study in ENABLED],
        "summary": [section_files(study)["summary"] for study in ENABLED],
    }

# How neural networks can be fooled: reproducible studies, one Snakemake workflow.
# A study is the unit: its rules (workflow/rules/studies/), its schema (workflow/schemas/studies/),
# its experiment lists (config/studies/), its package with its layout of files and its report
# section, registered once in src/fooled/studies/registry.py. Shared layers below the studies:
# the datasets, the models and the ImageNet patch database (workflow/rules/shared/).
# Targets: `snakemake` (every enabled study and the report), `snakemake <study>`, `snakemake imagenet`.

from pathlib import Path

from snakemake.utils import min_version

min_version("9.0")


# The workflow's own checkout, the folder of this file, wherever Snakemake runs from (its
# checkout, --directory elsewhere, -s <checkout>/Snakefile, or a `module` of another workflow,
# where workflow.basedir is that workflow's folder). Files the workflow ships (schemas,
# default experiment lists, the package) are found here; files a user gives, in the working
# directory first (workflow/rules/common.smk).
CHECKOUT = Path(str(workflow.current_basedir)).resolve()

# config/config.yaml where Snakemake runs (a user's copy: config/README.md), else the
# workflow's own (snakemake -s <checkout>/Snakefile or --directory from an empty folder).
DEFAULT_CONFIG = Path("config/config.yaml")
if not DEFAULT_CONFIG.exists():
    DEFAULT_CONFIG = CHECKOUT / "config" / "config.yaml"


configfile: str(DEFAULT_CONFIG)


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/shared/mnist.smk"
include: "workflow/rules/shared/imagenet_model.smk"
include: "workflow/rules/shared/imagenet_db.smk"


# Every registered study's rules (fooled.studies.registry: workflow/rules/studies/<study>.smk).
for registered in registry.STUDIES:

    include: registered.rules


include: "workflow/rules/report.smk"


# Downloads run where Snakemake runs (on a cluster, the login node: compute nodes often have
# no internet), never as cluster jobs; so does copying a micro experiment's files out of its
# batch (a file copy, not worth a cluster job).
localrules:
    download_mnist,
    download_vgg16,
    collide_micro,


rule all:
    default_target: True
    input:
        REPORT.path("page"),
        REPORT.path("summary"),
        damaged_targets,

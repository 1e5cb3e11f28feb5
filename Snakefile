# How neural networks can be fooled: reproducible studies, one Snakemake workflow.
# A study is the unit: its rules (workflow/rules/studies/), its schema (workflow/schemas/studies/),
# its experiment lists (config/studies/) and its report section. Shared layers below the studies:
# the datasets, the models and the ImageNet patch database (workflow/rules/shared/).
# Targets: `snakemake` (every enabled study and the report), `snakemake <study>`, `snakemake imagenet`.

from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/shared/mnist.smk"
include: "workflow/rules/shared/imagenet_model.smk"
include: "workflow/rules/shared/imagenet_db.smk"
include: "workflow/rules/studies/collisions_mnist.smk"
include: "workflow/rules/studies/collisions_imagenet.smk"
include: "workflow/rules/studies/szegedy.smk"
include: "workflow/rules/studies/fooling.smk"
include: "workflow/rules/studies/defences.smk"
include: "workflow/rules/report.smk"


# Downloads run where Snakemake runs (on a cluster, the login node: compute nodes often have
# no internet), never as cluster jobs.
localrules:
    download_mnist,
    download_vgg16,


rule all:
    default_target: True
    input:
        "results/report/report.html",
        "results/report/summary.json",
        damaged_targets,

# Approximate feature collisions in neural nets: the reproduction, stage by stage.
# Data flows one way, each stage writing HDF5 that the next reads:
#   download_mnist -> train_model -> collide -> interpolate -> report
# Experiments are data: config/config.yaml and the lists it names in config/experiments/.

from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/download.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/collide.smk"
include: "workflow/rules/interpolate.smk"
include: "workflow/rules/polytope.smk"
include: "workflow/rules/macro.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/imagenet.smk"


rule all:
    input:
        final_outputs(),
        imagenet_outputs() if IMAGENET_ENABLED else [],
    default_target: True

"""Rule `download_vgg16`: the stage function `download_vgg16` of `fooled.models.stages`."""

from fooled.core.stage import run_script
from fooled.models.stages import download_vgg16

run_script(globals()["snakemake"], download_vgg16)

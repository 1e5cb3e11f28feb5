"""Rule `imagenet_manifest`: the stage function `imagenet_manifest` of `fooled.data.stages`."""

from fooled.core.stage import run_script
from fooled.data.stages import imagenet_manifest

run_script(globals()["snakemake"], imagenet_manifest)

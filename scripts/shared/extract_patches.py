"""Rule `extract_patches`: the stage function `extract_patches` of `fooled.data.stages`."""

from fooled.core.stage import run_script
from fooled.data.stages import extract_patches

run_script(globals()["snakemake"], extract_patches)

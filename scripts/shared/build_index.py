"""Rule `build_index`: the stage function `build_index` of `fooled.data.stages`."""

from fooled.core.stage import run_script
from fooled.data.stages import build_index

run_script(globals()["snakemake"], build_index)

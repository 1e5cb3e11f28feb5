"""Rule `fooling_ascend`: the stage function `ascend` of `fooled.studies.fooling.stages`."""

from fooled.core.stage import run_script
from fooled.studies.fooling.stages import ascend

run_script(globals()["snakemake"], ascend)

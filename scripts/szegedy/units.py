"""Rule `szegedy_units`: the stage function `units` of `fooled.studies.szegedy.stages`."""

from fooled.core.stage import run_script
from fooled.studies.szegedy.stages import units

run_script(globals()["snakemake"], units)

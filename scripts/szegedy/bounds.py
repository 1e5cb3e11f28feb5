"""Rule `szegedy_bounds`: the stage function `bounds` of `fooled.studies.szegedy.stages`."""

from fooled.core.stage import run_script
from fooled.studies.szegedy.stages import bounds

run_script(globals()["snakemake"], bounds)

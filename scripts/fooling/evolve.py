"""Rule `fooling_evolve`: the stage function `evolve` of `fooled.studies.fooling.stages`."""

from fooled.core.stage import run_script
from fooled.studies.fooling.stages import evolve

run_script(globals()["snakemake"], evolve)

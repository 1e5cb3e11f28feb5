"""Rule `defences_adaptive`: the stage function `adaptive` of `fooled.studies.defences.stages`."""

from fooled.core.stage import run_script
from fooled.studies.defences.stages import adaptive

run_script(globals()["snakemake"], adaptive)

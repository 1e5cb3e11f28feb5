"""Rule `defences_score`: the stage function `score` of `fooled.studies.defences.stages`."""

from fooled.core.stage import run_script
from fooled.studies.defences.stages import score

run_script(globals()["snakemake"], score)

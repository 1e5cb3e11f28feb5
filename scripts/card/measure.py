"""Rule `card_measure`: the stage function `measure_model` of `fooled.studies.card.stages`."""

from fooled.core.stage import run_script
from fooled.studies.card.stages import measure_model

run_script(globals()["snakemake"], measure_model)

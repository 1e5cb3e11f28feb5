"""Rule `fooling_retrain`: the stage function `retrain` of `fooled.studies.fooling.stages`."""

from fooled.core.stage import run_script
from fooled.studies.fooling.stages import retrain

run_script(globals()["snakemake"], retrain)

"""Rule `defences_fgsm`: the stage function `fgsm` of `fooled.studies.defences.stages`."""

from fooled.core.stage import run_script
from fooled.studies.defences.stages import fgsm

run_script(globals()["snakemake"], fgsm)

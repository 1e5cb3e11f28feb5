"""Rule `defences_report`: the stage function `report` of `fooled.studies.defences.stages`."""

from fooled.core.stage import run_script
from fooled.studies.defences.stages import report

run_script(globals()["snakemake"], report)

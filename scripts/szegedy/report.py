"""Rule `szegedy_report`: the stage function `report` of `fooled.studies.szegedy.stages`."""

from fooled.core.stage import run_script
from fooled.studies.szegedy.stages import report

run_script(globals()["snakemake"], report)

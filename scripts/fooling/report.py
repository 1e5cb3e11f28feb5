"""Rule `fooling_report`: the stage function `report_section` of `fooled.studies.fooling.stages`."""

from fooled.core.stage import run_script
from fooled.studies.fooling.stages import report_section

run_script(globals()["snakemake"], report_section)

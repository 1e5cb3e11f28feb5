"""Rule `report`: the stage function `assemble` of `fooled.report.assemble`."""

from fooled.core.stage import run_script
from fooled.report.assemble import assemble

run_script(globals()["snakemake"], assemble)

"""Rule `szegedy_transfer`: the stage function `transfer` of `fooled.studies.szegedy.stages`."""

from fooled.core.stage import run_script
from fooled.studies.szegedy.stages import transfer

run_script(globals()["snakemake"], transfer)

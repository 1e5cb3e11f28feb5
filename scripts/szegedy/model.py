"""Rule `szegedy_model`: runs the stage function
`fooled.studies.szegedy.stages.place_model`.
"""

from fooled.core.stage import run_script
from fooled.studies.szegedy.stages import place_model

run_script(globals()["snakemake"], place_model)

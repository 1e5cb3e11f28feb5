"""Rule `szegedy_model_batch`: runs the stage function
`fooled.studies.szegedy.stages.train_and_attack`.
"""

from fooled.core.stage import run_script
from fooled.studies.szegedy.stages import train_and_attack

run_script(globals()["snakemake"], train_and_attack)

"""Rule `szegedy_adversarial`: runs the stage function
`fooled.studies.szegedy.stages.adversarial_training`.
"""

from fooled.core.stage import run_script
from fooled.studies.szegedy.stages import adversarial_training

run_script(globals()["snakemake"], adversarial_training)

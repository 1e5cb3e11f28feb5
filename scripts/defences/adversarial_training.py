"""Rule `defences_adversarial_training`: runs the stage function
`fooled.studies.defences.stages.adversarial_training`.
"""

from fooled.core.stage import run_script
from fooled.studies.defences.stages import adversarial_training

run_script(globals()["snakemake"], adversarial_training)

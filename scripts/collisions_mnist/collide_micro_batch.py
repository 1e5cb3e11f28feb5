"""Rule `collide_micro_batch`: runs the stage function
`fooled.studies.collisions.stages_mnist.collide_micro_batch`.
"""

from fooled.core.stage import run_script
from fooled.studies.collisions.stages_mnist import collide_micro_batch

run_script(globals()["snakemake"], collide_micro_batch)

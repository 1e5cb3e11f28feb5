"""Rule `collide_macro`: runs the stage function
`fooled.studies.collisions.stages_mnist.collide_macro`.
"""

from fooled.core.stage import run_script
from fooled.studies.collisions.stages_mnist import collide_macro

run_script(globals()["snakemake"], collide_macro)

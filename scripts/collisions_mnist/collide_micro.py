"""Rule `collide_micro`: runs the stage function
`fooled.studies.collisions.batches.collide_micro`.
"""

from fooled.core.stage import run_script
from fooled.studies.collisions.batches import collide_micro

run_script(globals()["snakemake"], collide_micro)

"""Rule `collide_imagenet`: runs the stage function
`fooled.studies.collisions.stages_imagenet.collide_imagenet`.
"""

from fooled.core.stage import run_script
from fooled.studies.collisions.stages_imagenet import collide_imagenet

run_script(globals()["snakemake"], collide_imagenet)

"""Rule `interpolate_imagenet`: runs the stage function
`fooled.studies.collisions.stages_imagenet.interpolate_imagenet`.
"""

from fooled.core.stage import run_script
from fooled.studies.collisions.stages_imagenet import interpolate_imagenet

run_script(globals()["snakemake"], interpolate_imagenet)

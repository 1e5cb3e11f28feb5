"""Rule `collisions_imagenet_report`: runs the stage function
`fooled.studies.collisions.sections.imagenet_section`.
"""

from fooled.core.stage import run_script
from fooled.studies.collisions.sections import imagenet_section

run_script(globals()["snakemake"], imagenet_section)

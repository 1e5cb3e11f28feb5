"""Rule `collisions_mnist_report`: runs the stage function
`fooled.studies.collisions.sections.mnist_section`.
"""

from fooled.core.stage import run_script
from fooled.studies.collisions.sections import mnist_section

run_script(globals()["snakemake"], mnist_section)

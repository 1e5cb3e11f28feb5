"""Rule `mnist_sources`: runs the stage function
`fooled.studies.collisions.stages_mnist.mnist_sources`.
"""

from fooled.core.stage import run_script
from fooled.studies.collisions.stages_mnist import mnist_sources

run_script(globals()["snakemake"], mnist_sources)

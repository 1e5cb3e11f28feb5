"""Rule `mnist_sources`: runs the stage function
`fooled.studies.collisions.sources_mnist.mnist_sources` (no TensorFlow).
"""

from fooled.core.stage import run_script
from fooled.studies.collisions.sources_mnist import mnist_sources

run_script(globals()["snakemake"], mnist_sources)

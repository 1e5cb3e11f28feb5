"""Rule `download_mnist`: the stage function `download_mnist` of `fooled.data.stages`."""

from fooled.core.stage import run_script
from fooled.data.stages import download_mnist

run_script(globals()["snakemake"], download_mnist)

"""Rule `train_lenet`: the stage function `train_lenet` of `fooled.models.stages`."""

from fooled.core.stage import run_script
from fooled.models.stages import train_lenet

run_script(globals()["snakemake"], train_lenet)

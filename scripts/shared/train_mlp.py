"""Rule `train_mlp`: the stage function `train_mlp` of `fooled.models.stages`."""

from fooled.core.stage import run_script
from fooled.models.stages import train_mlp

run_script(globals()["snakemake"], train_mlp)

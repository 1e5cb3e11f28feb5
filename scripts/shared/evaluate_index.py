"""Rule `evaluate_index`: the stage function `evaluate_index` of `fooled.data.stages`."""

from fooled.core.stage import run_script
from fooled.data.stages import evaluate_index

run_script(globals()["snakemake"], evaluate_index)

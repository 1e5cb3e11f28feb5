"""Rule `szegedy_attack_train`: the stage function `attack_lbfgs_train` of
`fooled.studies.szegedy.stages`."""

from fooled.core.stage import run_script
from fooled.studies.szegedy.stages import attack_lbfgs_train

run_script(globals()["snakemake"], attack_lbfgs_train)

"""Rule `collisions_mnist_report`: the section of `fooled.studies.collisions.mnist_report`
(`fooled.report.study.section_stage`).
"""

from fooled.core.stage import run_script
from fooled.report.study import section_stage
from fooled.studies.collisions import mnist_report

run_script(globals()["snakemake"], section_stage(mnist_report))

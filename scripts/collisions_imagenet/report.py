"""Rule `collisions_imagenet_report`: the section of `fooled.studies.collisions.imagenet_report`
(`fooled.report.study.section_stage`).
"""

from fooled.core.stage import run_script
from fooled.report.study import section_stage
from fooled.studies.collisions import imagenet_report

run_script(globals()["snakemake"], section_stage(imagenet_report))

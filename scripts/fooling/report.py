"""Rule `fooling_report`: the section of `fooled.studies.fooling.report`
(`fooled.report.study.section_stage`; no TensorFlow).
"""

from fooled.core.stage import run_script
from fooled.report.study import section_stage
from fooled.studies.fooling import report

run_script(globals()["snakemake"], section_stage(report))

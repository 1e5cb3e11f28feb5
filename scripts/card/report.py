"""Rule `card_report`: the section of `fooled.studies.card.report`
(`fooled.report.study.section_stage`).
"""

from fooled.core.stage import run_script
from fooled.report.study import section_stage
from fooled.studies.card import report

run_script(globals()["snakemake"], section_stage(report))

"""Where the report lies: the page, summary.json, and each study's section."""

from __future__ import annotations

from fooled.core.layout import Layout, artifacts

REPORT = Layout(
    "results/report",
    artifacts(
        page=("report.html", "the report: every enabled study's section, figures embedded"),
        summary=(
            "summary.json",
            "every number of the report, one key per study, and the run's provenance",
        ),
        section_html=("{study}/section.html", "a study's section of the page"),
        section_summary=("{study}/summary.json", "a study's part of summary.json"),
        figures=("{study}/figures", "a study's figures as PNG files (Snakemake report() outputs)"),
    ),
    "the report (rule report and each study's report rule)",
)


def section_files(study: str) -> dict[str, str]:
    """A study's section: the two files its report rule writes and rule report joins."""
    return {
        "html": REPORT.path("section_html", study=study),
        "summary": REPORT.path("section_summary", study=study),
    }

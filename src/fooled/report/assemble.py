"""Rule ``report``: the enabled studies' sections joined into one page and one summary.json.

The page embeds every figure as a base64 PNG so it can be mailed, archived or
opened offline; it has no external assets. ``summary.json`` holds one key per
study (its section's summary), ``index`` when the patch database was
evaluated, and ``provenance``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fooled.core.h5io import library_versions, write_text_atomic
from fooled.core.stage import Job
from fooled.report import claims
from fooled.report.html import CSS, escape
from fooled.report.sections import Section, read_section, strict_json


def verdicts_of(summary: Mapping[str, Any]) -> list[claims.Verdict]:
    """The registered studies' claims judged on this run's summary."""
    from fooled.studies import registry  # the list of studies, not a study

    return claims.evaluate(registry.claims(), summary)


def render_page(
    title: str,
    sections: Sequence[Section],
    config: Mapping[str, Any],
    verdicts: Sequence[claims.Verdict] = (),
) -> str:
    contents = "".join(
        f"<li><a href='#{escape(section.study)}'>{escape(section.title)}</a></li>"
        for section in sections
    )
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{escape(title)}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f"<nav><ul>{contents}</ul></nav>" if sections else "<p>No study is enabled.</p>",
        "<h2>The papers' claims on this run</h2>",
        claims.html_table(verdicts),
        *(f"<section id='{escape(s.study)}'>{s.html}</section>" for s in sections),
        "<h2>Provenance</h2>",
        "<h3>Library versions (report stage)</h3>",
        f"<pre>{escape(json.dumps(library_versions(), indent=2, sort_keys=True))}</pre>",
        "<h3>Configuration (defaults filled in)</h3>",
        f"<pre>{escape(json.dumps(config, indent=2, sort_keys=True, default=str))}</pre>",
        "</body></html>\n",
    ]
    return "\n".join(parts)


def summary_document(sections: Sequence[Section]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for section in sections:
        study_summary = dict(section.summary)
        if "index" in study_summary:
            document["index"] = study_summary.pop("index")
        document[section.study] = study_summary
    document["provenance"] = {"library_versions": library_versions()}
    return document


def assemble(job: Job, logger: logging.Logger) -> None:
    """Read every section (in the order the workflow lists the studies) and write both files."""
    html_paths = [str(path) for path in job.input.html]
    summary_paths = [str(path) for path in job.input.summary]
    if len(html_paths) != len(summary_paths):
        raise ValueError("every section needs its html and its summary")
    sections = [read_section(h, s) for h, s in zip(html_paths, summary_paths, strict=True)]
    for section in sections:
        logger.info("section %s: %s (%d bytes)", section.study, section.title, len(section.html))
    config = dict(job.params.config)
    document = summary_document(sections)
    text = strict_json(document)
    verdicts = verdicts_of(document)
    for verdict in verdicts:
        logger.info("claim %s.%s: %s", verdict.study, verdict.claim.key, verdict.verdict)
    page = render_page(str(config["report"]["title"]), sections, config, verdicts)
    write_text_atomic(job.output.summary, text)
    write_text_atomic(job.output.html, page)
    logger.info("wrote %s (%d bytes) and %s", job.output.html, len(page), job.output.summary)

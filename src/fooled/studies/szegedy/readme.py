"""The Szegedy study's part of the README, generated from a run's summary.json.

``KEY_NUMBERS``/``KEY_TARGETS``/``key_summary`` follow the convention of
:mod:`fooled.studies` (tests/test_reproduce.py): one model of Table 1, trained and attacked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fooled.studies.szegedy.layout import LAYOUT

STUDY = "szegedy"
KEY_MODEL = "fc100-100-10"
KEY_NUMBERS: dict[str, float] = {
    "szegedy.table1.FC100-100-10.test_error.mean": 0.03,
    "szegedy.table1.FC100-100-10.distortion.mean": 0.02,
    "szegedy.table1.FC100-100-10.success_rate.mean": 0.05,
}
KEY_TARGETS = [
    LAYOUT.path("metrics", name=KEY_MODEL, seed=0),
    LAYOUT.path("attack", name=KEY_MODEL, seed=0),
]


def key_summary(folder: Any) -> dict[str, Any]:
    from pathlib import Path

    from fooled.core.config import schema_defaults
    from fooled.studies.szegedy import report
    from fooled.studies.szegedy import settings as szegedy_settings

    folder = Path(folder)
    experiment = {
        "name": KEY_MODEL,
        "architecture": KEY_MODEL,
        "weight_decay": [1.0e-5, 1.0e-5, 1.0e-6],
        "paper_row": "FC100-100-10",
        **{
            key: value
            for key, value in schema_defaults("studies/szegedy.schema.yaml", "defaults").items()
            if key not in ("architecture", "weight_decay", "paper_row")
        },
    }
    instance = szegedy_settings.model_instances({KEY_MODEL: experiment})[0]
    artifacts = report.Artifacts(
        instances=[instance.params()],
        metrics=[str(folder / KEY_TARGETS[0])],
        attacks=[str(folder / KEY_TARGETS[1])],
    )
    return {STUDY: report.summarise(artifacts)}


def _cell(record: Mapping[str, Any], key: str, scale: float = 100.0, digits: int = 2) -> str:
    value = record[key]
    text = f"{scale * value['mean']:.{digits}f}"
    if value.get("spread") is not None:
        text += f" ± {scale * value['spread']:.{digits}f}"
    return text


def table1(section: Mapping[str, Any]) -> str:
    lines = [
        "| model | train error % (paper) | test error % (paper) | mean minimal distortion "
        "(paper) | attack success | seeds x images |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    note = ""
    for label, record in section["table1"].items():
        paper = record.get("paper") or {}

        def with_paper(text: str, key: str, scale: float = 100.0, paper=paper) -> str:
            reference = paper.get(key)
            return text if reference is None else f"{text} ({scale * reference:.3g})"

        lines.append(
            f"| {label} | {with_paper(_cell(record, 'train_error'), 'train_error')} | "
            f"{with_paper(_cell(record, 'test_error'), 'test_error')} | "
            f"{with_paper(_cell(record, 'distortion', 1.0, 3), 'distortion', 1.0)} | "
            f"{_cell(record, 'success_rate', 100.0, 0)}% | "
            f"{record['distortion']['n_seeds']} x {record['n_images']} |"
        )
        note = record.get("note") or note
    if note:
        lines += ["", f"Scale of this run: {note}."]
    return "\n".join(lines)


def tables(summary: Mapping[str, Any]) -> dict[str, str]:
    if STUDY not in summary:
        return {}
    return {"szegedy_table1": table1(summary[STUDY])}

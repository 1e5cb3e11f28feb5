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


def train_cell(
    record: Mapping[str, Any], key: str, scale: float, digits: int, unit: str = ""
) -> str:
    """A training-image figure, "-" where the run did not attack training images."""
    return _cell(record, key, scale, digits) + unit if key in record else "-"


def table1(section: Mapping[str, Any]) -> str:
    lines = [
        "| model | train error % (paper) | test error % (paper) | mean minimal distortion, "
        "training images (paper) | the same, test images | attack success, training / test "
        "images | seeds x images, training / test |",
        "| --- | --- | --- | --- | --- | --- | --- |",
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
            # the paper's distortions are over the training set
            f"{with_paper(train_cell(record, 'train_distortion', 1.0, 3), 'distortion', 1.0)} | "
            f"{_cell(record, 'distortion', 1.0, 3)} | "
            f"{train_cell(record, 'train_success_rate', 100.0, 0, '%')} / "
            f"{_cell(record, 'success_rate', 100.0, 0)}% | "
            f"{record['distortion']['n_seeds']} x {record.get('n_train_images', 0)} / "
            f"{record['n_images']} |"
        )
        note = record.get("note") or note
    if note:
        lines += ["", f"Scale of this run: {note}."]
    return "\n".join(lines)


def transfer_table(table: Mapping[str, Any]) -> str:
    """Tables 2 and 4: each row's inputs (one network's adversarial examples, or noise)
    scored by every network, with the rows' mean distortion."""
    lines = [
        "| inputs | " + " | ".join(table["columns"]) + " | mean distortion |",
        "| --- | " + " | ".join("---" for _ in table["columns"]) + " | --- |",
    ]
    for row, errors, distortion in zip(
        table["rows"], table["errors"], table["distortion"], strict=True
    ):
        cells = " | ".join(_cell({"e": cell}, "e", 100.0, 1) for cell in errors)
        lines.append(f"| {row} | {cells} | {_cell({'d': distortion}, 'd', 1.0, 3)} |")
    seeds = max(cell["n_seeds"] for row in table["errors"] for cell in row)
    lines += ["", f"Error % of each column's network; mean ± sd over {seeds} seed(s)."]
    return "\n".join(lines)


def adversarial_table(section: Mapping[str, Any]) -> str:
    """Adversarial training beside the paper's test errors of its regularisers."""
    record = section["adversarial_training"]
    paper = record.get("paper") or {}
    rows = [
        ("test error %, adversarially trained", _cell(record, "test_error"), "adversarial"),
        ("test error %, the same network trained plainly", _cell(record, "base_test_error"), None),
        (
            "error % on the plain network's adversarial examples",
            _cell(record, "error_on_base_examples"),
            None,
        ),
        (
            "mean distortion of fresh examples, adversarially trained",
            _cell(record, "fresh_mean_distortion", 1.0, 4),
            None,
        ),
        (
            "mean distortion of fresh examples, plain",
            _cell(record, "base_fresh_mean_distortion", 1.0, 4),
            None,
        ),
    ]
    lines = ["| measure | this run | paper |", "| --- | --- | --- |"]
    for label, ours, key in rows:
        reference = paper.get(key) if key else None
        lines.append(
            f"| {label} | {ours} | {'-' if reference is None else f'{100 * reference:.3g}'} |"
        )
    if paper:
        others = ", ".join(
            f"{name.replace('_', ' ')} {100 * value:.3g}%"
            for name, value in paper.items()
            if name not in ("adversarial", "source") and isinstance(value, float)
        )
        lines += ["", f"The paper's test errors of the other regularisers: {others}."]
    return "\n".join(lines)


def _markdown(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def halves_table(section: Mapping[str, Any]) -> str:
    """Tables 3-4: the networks trained on the halves P1 and P2 of the training set, their
    errors, and how their examples transfer across the halves."""
    header = ["network", "training set", "error % on P1", "error % on P2", "test error %"]
    rows = [
        [label, record["training_set"]]
        + [_cell(record, key) for key in ("error_p1", "error_p2", "test_error")]
        for label, record in section["table3"].items()
    ]
    return _markdown(header, rows) + "\n\n" + transfer_table(section["transfer"]["table4"])


def units_table(section: Mapping[str, Any]) -> str:
    """Top-10 purity of single units against random directions, with the test's p-value."""
    keys = ("purity_units_mean", "purity_directions_mean", "p_value", "chance")
    header = ["network and layer", "purity of units", "purity of random directions"]
    rows = [
        [label] + [_cell(record, key, 1.0, 3) for key in keys]
        for label, record in section["units"].items()
    ]
    return _markdown(header + ["p-value", "chance"], rows)


def bounds_table(section: Mapping[str, Any]) -> str:
    """Table 5 on MNIST: the product of the layers' operator-norm bounds (pixels to logits)
    and the largest ratio measured at the L-BFGS examples."""
    lines = [
        "| network | upper bound | largest measured ratio | measured / bound |",
        "| --- | --- | --- | --- |",
    ]
    for label, record in section["table5"]["mnist"].items():
        bound = record["network_bound"]["mean"]
        measured = record["max_measured_ratio"]["mean"]
        lines.append(
            f"| {label} | {_cell(record, 'network_bound', 1.0, 3)} | "
            f"{_cell(record, 'max_measured_ratio', 1.0, 3)} | {measured / bound:.2f} |"
        )
    vgg16 = section["table5"].get("vgg16") or {}
    if vgg16:
        comparable = "" if vgg16.get("comparable") else " (random weights: not comparable)"
        lines += ["", f"VGG-16 at {vgg16.get('input_size')} px{comparable}: see the report."]
    return "\n".join(lines)


def tables(summary: Mapping[str, Any]) -> dict[str, str]:
    """The README's table and, for docs/studies/szegedy.md, the other tables of the paper."""
    if STUDY not in summary:
        return {}
    section = summary[STUDY]
    return {
        "szegedy_table1": table1(section),
        "szegedy_transfer": transfer_table(section["transfer"]["table2"]),
        "szegedy_halves": halves_table(section),
        "szegedy_units": units_table(section),
        "szegedy_bounds": bounds_table(section),
        "szegedy_adversarial": adversarial_table(section),
    }

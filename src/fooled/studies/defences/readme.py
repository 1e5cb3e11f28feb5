"""The defences study's part of the README, generated from a run's summary.json.

``KEY_NUMBERS``/``KEY_TARGETS``/``key_summary`` follow the convention of
:mod:`fooled.studies` (tests/test_reproduce.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

STUDY = "defences"

KEY_NUMBERS: dict[str, float] = {
    "defences.fgsm.rows.1.error_rate": 0.05,
    "defences.autoencoder.clean.mean": 0.02,
}
KEY_TARGETS = ["results/defences/fgsm.h5", "results/defences/autoencoder.h5"]


def key_summary(folder: Any) -> dict[str, Any]:
    from pathlib import Path

    from fooled.core import h5io

    folder = Path(folder)
    rows = h5io.read_attrs(folder / KEY_TARGETS[0])["rows"]
    clean = h5io.read_attrs(folder / KEY_TARGETS[1])["clean"]
    return {STUDY: {"fgsm": {"rows": rows}, "autoencoder": {"clean": clean}}}


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def detection_table(section: Mapping[str, Any]) -> str:
    lines = [
        "| input kind | n | detected | ROC-AUC vs clean | MLP confidence | adaptive: detected / "
        "ROC-AUC (weight) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for record in section["detection"].values():
        adaptive = record.get("adaptive")
        adaptive_cells = (
            f"{_percent(adaptive['detection_rate'])} / {adaptive['auc']:.3f} "
            f"({adaptive['weight']:g})"
            if adaptive
            else "-"
        )
        auc = "-" if record["auc"] is None else f"{record['auc']:.3f}"
        lines.append(
            f"| {record['label']} | {record['n']:,} | {_percent(record['detection_rate'])} | "
            f"{auc} | {record['mean_confidence']:.3f} | {adaptive_cells} |"
        )
    fgsm, training, ae = section["fgsm"], section["adversarial_training"], section["autoencoder"]
    paper = section["paper"]
    at_025 = next(row for row in fgsm["rows"] if row["epsilon"] == 0.25)
    lines += [
        "",
        f"FGSM at eps 0.25 on the MLP: {_percent(at_025['error_rate'])} error (paper: shallow "
        f"softmax {_percent(paper['fgsm_error']['shallow softmax'])}, maxout "
        f"{_percent(paper['fgsm_error']['maxout network'])}). Adversarial training "
        f"({training['init']}, {training['epochs']} epoch(s)): FGSM error at eps "
        f"{training['epsilons'][-1]:g} {_percent(training['fgsm_error_before'][-1])} -> "
        f"{_percent(training['fgsm_error_after'][-1])}, clean error "
        f"{_percent(training['clean_error_before'])} -> {_percent(training['clean_error_after'])}"
        f" (paper, maxout: {_percent(paper['adversarial_training']['fgsm_error_before'])} -> "
        f"{_percent(paper['adversarial_training']['fgsm_error_after'])}). Autoencoder "
        f"({ae['architecture']} {ae['hidden_units']}, {ae['loss']}, {ae['epochs']} epochs): "
        f"clean reconstruction error mean {ae['clean']['mean']:.3f}, "
        f"std {ae['clean']['std']:.3f} (the slides: {paper['autoencoder']['clean_mean']}, "
        f"{paper['autoencoder']['clean_std']}); threshold {ae['threshold']:.3f} at "
        f"{_percent(ae['false_positive_rate'])} false positives.",
    ]
    if section.get("skipped"):
        lines.append("")
        lines.append("Not in this run: " + "; ".join(section["skipped"].values()) + ".")
    return "\n".join(lines)


def tables(summary: Mapping[str, Any]) -> dict[str, str]:
    if STUDY not in summary:
        return {}
    return {"defences_table": detection_table(summary[STUDY])}

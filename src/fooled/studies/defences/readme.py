"""The defences study's part of the README, generated from a run's summary.json.

``KEY_NUMBERS``/``KEY_TARGETS``/``key_summary`` follow the convention of
:mod:`fooled.studies` (tests/test_reproduce.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fooled.studies.defences import seeds
from fooled.studies.defences.layout import LAYOUT
from fooled.studies.defences.paper import FGSM_EPSILON, at_epsilon

STUDY = "defences"

KEY_NUMBERS: dict[str, float] = {
    "defences.fgsm.rows.1.error_rate": 0.05,
    "defences.autoencoder.clean.mean": 0.02,
}
KEY_TARGETS = [LAYOUT.path("fgsm"), LAYOUT.path("errors")]


def key_summary(folder: Any) -> dict[str, Any]:
    from pathlib import Path

    from fooled.core import h5io

    folder = Path(folder)
    rows = h5io.read_attrs(folder / KEY_TARGETS[0])["rows"]
    clean = h5io.read_attrs(folder / KEY_TARGETS[1])["clean"]
    return {STUDY: {"fgsm": {"rows": rows}, "autoencoder": {"clean": clean}}}


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def pgd_note(pgd: Mapping[str, Any]) -> str:
    """The PGD settings of a run, in words."""
    settings = pgd["settings"]
    preset = f"preset {pgd['preset']}, " if pgd.get("preset") else ""
    start = "a random start" if settings["random_start"] else "the image"
    return (
        f"{preset}{settings['steps']} steps of {settings['step_size']:g} from {start}, "
        f"best of {settings['restarts']} start(s), {settings['gradient']} gradient"
    )


def over_seeds_sentence(rows: Sequence[Mapping[str, Any]]) -> str:
    """The figures above at every seed of the MLP, as mean +- sd ("" for one seed)."""
    if len(rows) < 2:
        return ""
    parts = []
    for figure, label in seeds.FIGURES.items():
        measured = seeds.over_seeds(rows, figure)
        if measured is not None:
            digits = 4 if figure == "autoencoder_clean_mean" else 3
            parts.append(f"{label} {measured.value:.{digits}f} +- {measured.sd:.{digits}f}")
    listed = ", ".join(str(row["seed"]) for row in rows)
    return (
        f"Over {len(rows)} seeds of the MLP ({listed}; mean +- sd, each seed's MLP attacked, "
        "adversarially trained and given an autoencoder with that seed): " + "; ".join(parts) + "."
    )


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
    # The paper's epsilon, wherever the run's list of epsilons has it ("-" where it does not).
    eps = FGSM_EPSILON
    fgsm_error = at_epsilon(
        [row["epsilon"] for row in fgsm["rows"]], [row["error_rate"] for row in fgsm["rows"]], eps
    )
    float32_error = at_epsilon(
        [row["epsilon"] for row in fgsm["rows"]],
        [row.get("error_rate_float32") for row in fgsm["rows"]],
        eps,
    )
    float32_note = (
        f"; {_percent(float32_error)} with the float32 gradient common libraries use"
        if float32_error is not None
        else ""
    )
    before = at_epsilon(training["epsilons"], training["fgsm_error_before"], eps)
    after = at_epsilon(training["epsilons"], training["fgsm_error_after"], eps)
    pgd_sentence = ""
    if "pgd" in section:  # summaries of runs before PGD joined the study have none
        pgd_before = at_epsilon(training["pgd_epsilons"], training["pgd_error_before"], eps)
        pgd_after = at_epsilon(training["pgd_epsilons"], training["pgd_error_after"], eps)
        pgd_sentence = (
            f"; under PGD ({pgd_note(section['pgd'])}) at eps {eps:g}: "
            f"{_percent(pgd_before)} -> {_percent(pgd_after)}"
        )
    lines += [
        "",
        f"FGSM at eps {eps:g} on the MLP: {_percent(fgsm_error)} error "
        f"({fgsm.get('gradient', 'float32')} gradient{float32_note}; paper: shallow "
        f"softmax {_percent(paper['fgsm_error']['shallow softmax'])}, maxout "
        f"{_percent(paper['fgsm_error']['maxout network'])}). Adversarial training "
        f"({training['init']}, {training['epochs']} epoch(s)): FGSM error at eps {eps:g} "
        f"{_percent(before)} -> {_percent(after)}, clean error "
        f"{_percent(training['clean_error_before'])} -> {_percent(training['clean_error_after'])}"
        f" (paper, {paper['adversarial_training']['model']}: "
        f"{_percent(paper['adversarial_training']['fgsm_error_before'])} -> "
        f"{_percent(paper['adversarial_training']['fgsm_error_after'])}){pgd_sentence}. "
        "Autoencoder "
        f"({ae['architecture']} {ae['hidden_units']}, {ae['loss']}, {ae['epochs']} epochs): "
        f"clean reconstruction error mean {ae['clean']['mean']:.3f}, "
        f"std {ae['clean']['std']:.3f} (the slides: {paper['autoencoder']['clean_mean']}, "
        f"{paper['autoencoder']['clean_std']}); threshold {ae['threshold']:.3f} at "
        f"{_percent(ae['false_positive_rate'])} false positives.",
    ]
    seed_sentence = over_seeds_sentence(section.get("seeds", []))
    if seed_sentence:
        lines += ["", seed_sentence]
    if section.get("skipped"):
        lines.append("")
        lines.append("Not in this run: " + "; ".join(section["skipped"].values()) + ".")
    return "\n".join(lines)


def tables(summary: Mapping[str, Any]) -> dict[str, str]:
    if STUDY not in summary:
        return {}
    return {"defences_table": detection_table(summary[STUDY])}

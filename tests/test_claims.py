"""The papers' claims as checks over a summary: verdicts on the reference run, and claims that
fail or become not comparable when the summary is doctored."""

from __future__ import annotations

import copy
import json
import statistics
from pathlib import Path

import pytest

from fooled.report import claims
from fooled.report.assemble import render_page, verdicts_of
from fooled.studies import registry

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = json.loads((ROOT / "docs" / "reference" / "summary.json").read_text())
PAPER_REFERENCE = json.loads((ROOT / "docs" / "reference" / "paper" / "summary.json").read_text())


def verdict(summary: dict, study: str, key: str) -> claims.Verdict:
    (found,) = [v for v in verdicts_of(summary) if v.study == study and v.claim.key == key]
    return found


def test_every_registered_claim_is_judged_on_the_reference_run():
    verdicts = verdicts_of(REFERENCE)
    registered = registry.claims()
    assert {"collisions_mnist", "szegedy", "fooling", "defences"} <= set(registered)
    assert len(verdicts) == sum(len(c) for c in registered.values())
    for found in verdicts:
        assert found.verdict in (claims.HOLDS, claims.FAILS, claims.NOT_COMPARABLE)
        assert found.claim.source and found.claim.paper and found.claim.reason
        if found.verdict == claims.NOT_COMPARABLE:
            assert found.note and found.ours == "-"
        else:
            assert found.ours != "-"
    kinds = {found.verdict for found in verdicts}
    assert claims.HOLDS in kinds


def test_a_doctored_interpolation_breaks_the_collision_claim():
    assert verdict(REFERENCE, "collisions_mnist", "interpolations_keep_the_class").verdict == (
        claims.HOLDS
    )
    doctored = copy.deepcopy(REFERENCE)
    doctored["collisions_mnist"]["experiments"]["pair_0_to_1"]["interp_top_class_accuracy"] = 0.999
    found = verdict(doctored, "collisions_mnist", "interpolations_keep_the_class")
    assert found.verdict == claims.FAILS
    assert found.ours.startswith("lowest 0.9990 of 25")


def test_fgsm_claims_fail_or_lose_their_figure_when_the_summary_says_so():
    # The defences claims are judged over every seed of the MLP (the summary's seeds).
    doctored = copy.deepcopy(REFERENCE)
    seeds = doctored["defences"]["seeds"]
    for row in seeds:
        row["fgsm_error"] = [0.5 for _ in row["fgsm_error"]]
    assert verdict(doctored, "defences", "fgsm_fools").verdict == claims.FAILS
    for row in seeds:
        row["adversarial_training"]["fgsm_error_after"] = [0.6, 0.6]
        row["adversarial_training"]["fgsm_error_before"] = [0.79, 0.97]
    assert verdict(doctored, "defences", "adversarial_training_helps").verdict == claims.FAILS
    for row in seeds:
        row["epsilons"], row["fgsm_error"], row["fgsm_error_float32"] = [0.1], [0.9], [None]
    found = verdict(doctored, "defences", "fgsm_fools")
    assert found.verdict == claims.NOT_COMPARABLE and "eps 0.25" in found.note


def test_a_summary_from_before_the_seeds_is_judged_on_the_study_s_own_figures():
    doctored = copy.deepcopy(REFERENCE)
    del doctored["defences"]["seeds"]
    assert verdict(doctored, "defences", "fgsm_fools").ours.endswith("(n = 1 model)")
    for row in doctored["defences"]["fgsm"]["rows"]:
        row["error_rate"] = 0.5
    assert verdict(doctored, "defences", "fgsm_fools").verdict == claims.FAILS


def test_the_pgd_claim_says_whether_fgsm_training_holds_against_pgd():
    doctored = copy.deepcopy(REFERENCE)
    (row,) = doctored["defences"]["seeds"]  # the default run: one seed of the MLP
    training = row["adversarial_training"]
    training |= {"pgd_epsilons": [0.1, 0.25], "pgd_error_before": [0.99, 1.0]}
    training["pgd_error_after"] = [0.9, 0.98]  # the defence does not carry over: Madry holds
    found = verdict(doctored, "defences", "pgd_undoes_adversarial_training")
    assert found.verdict == claims.HOLDS and found.ours.startswith("1.02")
    training["pgd_error_after"] = [0.2, 0.0]  # it does, and stops every example
    found = verdict(doctored, "defences", "pgd_undoes_adversarial_training")
    n_images = doctored["defences"]["fgsm"]["n_images"]
    assert found.verdict == claims.FAILS and found.ours.startswith(f"{n_images:.2f}")
    training["pgd_epsilons"] = [0.1, 0.3]
    found = verdict(doctored, "defences", "pgd_undoes_adversarial_training")
    assert found.verdict == claims.NOT_COMPARABLE and "eps 0.25" in found.note


def test_the_defences_claims_give_the_spread_over_the_seeds():
    doctored = copy.deepcopy(REFERENCE)
    (row,) = doctored["defences"]["seeds"]
    further = copy.deepcopy(row)
    further["seed"], further["autoencoder_clean_mean"] = 1, row["autoencoder_clean_mean"] + 0.02
    doctored["defences"]["seeds"].append(further)
    found = verdict(doctored, "defences", "autoencoder_clean_error")
    mean = row["autoencoder_clean_mean"] + 0.01
    assert found.ours == f"{mean:.3f} +- 0.014 (mean +- sd, n = 2 seeds)"


def test_the_fooling_claim_is_judged_only_without_departures():
    found = verdict(REFERENCE, "fooling", "every_digit_is_fooled")
    assert found.verdict == claims.NOT_COMPARABLE and "generations" in found.note
    doctored = copy.deepcopy(REFERENCE)
    for experiment in doctored["fooling"]["evolve"].values():
        experiment.update(departures=[], generations=200, fraction_at_top_per_run=[1.0, 1.0])
    assert verdict(doctored, "fooling", "every_digit_is_fooled").verdict == claims.HOLDS
    experiment["fraction_at_top_per_run"] = [1.0, 0.9]
    found = verdict(doctored, "fooling", "every_digit_is_fooled")
    assert found.verdict == claims.FAILS and found.ours == "lowest 0.90 of 4 runs"


def test_the_fooling_claim_is_the_lenets_alone():
    """At the paper's scale the MLP is evolved against too: its departures (another network)
    do not void the LeNet's claim, and the claim is judged on the LeNet's runs only."""
    paper = copy.deepcopy(PAPER_REFERENCE)
    lenet = {n: e for n, e in paper["fooling"]["evolve"].items() if e["model"] == "lenet"}
    assert lenet and len(lenet) < len(paper["fooling"]["evolve"])
    lowest = min(f for e in lenet.values() for f in e["fraction_at_top_per_run"])
    found = verdict(paper, "fooling", "every_digit_is_fooled")
    assert found.verdict == (claims.HOLDS if lowest >= 1.0 else claims.FAILS)
    for name, experiment in paper["fooling"]["evolve"].items():
        experiment["fraction_at_top_per_run"] = [1.0] * len(experiment["fraction_at_top_per_run"])
        if name not in lenet:
            experiment["fraction_at_top_per_run"][0] = 0.0  # the MLP's runs are not the claim's
    assert verdict(paper, "fooling", "every_digit_is_fooled").verdict == claims.HOLDS
    for experiment in paper["fooling"]["evolve"].values():
        experiment["model"] = "mlp"
    found = verdict(paper, "fooling", "every_digit_is_fooled")
    assert found.verdict == claims.NOT_COMPARABLE and "LeNet" in found.note


def test_a_missing_figure_is_not_comparable_rather_than_an_error():
    doctored = copy.deepcopy(REFERENCE)
    del doctored["szegedy"]["transfer"]
    found = verdict(doctored, "szegedy", "examples_transfer")
    assert found.verdict == claims.NOT_COMPARABLE and "transfer" in found.note


def test_measures_match_the_standard_library():
    values = [0.2, 0.5, 0.9, 0.4]
    measure = claims.mean_sd(values, "seed")
    assert measure.value == pytest.approx(statistics.mean(values))
    assert measure.sd == pytest.approx(statistics.stdev(values))
    assert measure.text(2) == "0.50 +- 0.29 (mean +- sd, n = 4 seeds)"
    assert claims.lowest(values, "run").text(1) == "lowest 0.2 of 4 runs"
    with pytest.raises(ValueError, match="no values"):
        claims.mean_sd([], "seed")


def test_a_claim_with_an_unknown_comparison_is_refused():
    with pytest.raises(ValueError, match="op must be one of"):
        claims.Claim("k", "t", "s", "p", lambda s: claims.Measure(1.0), "=>", 1.0, "r")


def test_the_report_opens_with_the_verdicts():
    verdicts = verdicts_of(REFERENCE)
    page = render_page("t", [], {"report": {"title": "t"}}, verdicts)
    assert "The papers&#x27; claims on this run" in page or "The papers' claims" in page
    assert page.count("<tr>") == len(verdicts) + 1
    assert f"{len(verdicts)} claims:" in page

"""The paper-scale run (`make paper`): its config files plan every study at the scale issue
19 asks for, and the committed paper-scale reference run (docs/reference/paper/) holds it.

The run itself takes about an hour on 2 cores and is not part of the suite; its figures are
checked where they are published (tests/test_reproduce.py and tests/test_layout.py compare
the README's and the docs' generated blocks with the reference)."""

import json
import re
import sys
from itertools import permutations
from pathlib import Path

import pytest
import yaml
from workflow_runner import job_counts, run_snakemake, runner_environment

ROOT = Path(__file__).resolve().parents[1]
PAPER_REFERENCE = ROOT / "docs" / "reference" / "paper" / "summary.json"
ALL_PAIRS = ROOT / "config" / "studies" / "collisions_mnist" / "all_pairs.yaml"


def paper_configs() -> list[Path]:
    """The config files `make paper` passes, read from the Makefile (their one home)."""
    makefile = (ROOT / "Makefile").read_text()
    found = re.search(r"^PAPER_CONFIGS := ((?:.*\\\n)*.*)$", makefile, re.M)
    assert found, "the Makefile defines no PAPER_CONFIGS"
    return [ROOT / name for name in found.group(1).replace("\\\n", " ").split()]


def test_the_all_pairs_list_holds_every_ordered_pair_of_classes_once():
    experiments = yaml.safe_load(ALL_PAIRS.read_text())
    pairs = [(e["seed"]["class"], e["target"]["class"]) for e in experiments]
    assert sorted(pairs) == sorted(permutations(range(10), 2))
    assert len({e["name"] for e in experiments}) == 90


def test_the_paper_configs_plan_every_study_at_the_papers_scale(tmp_path):
    configs = paper_configs()
    assert all(path.is_file() for path in configs), configs
    run = run_snakemake(
        tmp_path,
        None,
        "--configfile",
        *map(str, configs),
        "--dry-run",
        "--quiet",
        "rules",
        env=runner_environment(),
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    counts = job_counts(run.stdout + run.stderr)
    models = yaml.safe_load((ROOT / "config/studies/szegedy/models.yaml").read_text())
    models += yaml.safe_load((ROOT / "config/studies/szegedy/relu.yaml").read_text())
    assert counts["szegedy_model"] == 3 * len(models)  # three seeds of every network
    # and of the shared networks, the defences study's models repeated at the MLP's
    assert counts["train_mlp"] == counts["train_lenet"] == 1
    assert counts["train_mlp_seed"] == counts["train_lenet_seed"] == 2
    for stage in ("fgsm", "adversarial_training", "autoencoder"):
        assert counts[f"defences_{stage}_seed"] == 2
    micro = yaml.safe_load((ROOT / "config/studies/collisions_mnist/micro.yaml").read_text())
    assert counts["collide_micro"] == len(micro) + 90  # the default list and all 90 pairs
    evolve = [
        e
        for e in yaml.safe_load((ROOT / "config/studies/fooling/paper.yaml").read_text())
        if e.get("mode", "evolve") == "evolve"
    ]
    assert counts["fooling_evolve"] >= 5 * len(evolve) > 0  # five runs of each experiment


@pytest.mark.skipif(not PAPER_REFERENCE.is_file(), reason="no paper-scale reference committed")
def test_the_paper_reference_holds_the_papers_scale():
    summary = json.loads(PAPER_REFERENCE.read_text())
    table1 = summary["szegedy"]["table1"]
    assert all(row["distortion"]["n_seeds"] >= 3 for row in table1.values())
    experiments = summary["collisions_mnist"]["experiments"]
    assert {f"all_{a}_to_{b}" for a, b in permutations(range(10), 2)} <= set(experiments)
    assert all(record["runs"] >= 5 for record in summary["fooling"]["evolve"].values())
    assert summary["defences"]["fgsm"]["n_images"] == 10000
    # every trained network over three seeds: the MLP (and the defences study's models at
    # each of its seeds) and the LeNet
    assert [row["seed"] for row in summary["defences"]["seeds"]] == [0, 1, 2]
    assert [row["seed"] for row in summary["fooling"]["models"]["lenet"]["seeds"]] == [0, 1, 2]


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-v"]))

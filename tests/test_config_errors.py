"""Bad configurations stop the real Snakemake before any job, with one line naming the file,
the key and the allowed values (``snakemake --dry-run`` on a copy of .test/config)."""

import os
from pathlib import Path

import pytest
import yaml
from workflow_runner import copy_test_config, run_snakemake, runner_environment

from fooled.studies.fooling.layout import LAYOUT as FOOLING

MICRO_KEYS = "layer, learning_rate, max_steps, n_corners, optimizer, threshold, w_neg, w_pos"
MACRO_KEYS = (
    "checkpoint_every, chunk_steps, layer, max_steps, momentum, n_corners, schedule, "
    "threshold, w_neg, w_pos, w_tv"
)
ASCEND_KEYS = (
    "classes, description, early_progress, image_starts, l2_decay, late_progress, "
    "learning_rate, lr_policy, max_learning_rate, mode, model, name, noise_starts, "
    "penalty_weight, score, seed, steps, thresholds"
)
COLLISIONS = "three_to_seven, one_to_four, macro_3_to_7"


def _edit(folder: Path, name: str, change) -> None:
    """Change one YAML file of the copied configuration in place."""
    path = folder / name
    document = yaml.safe_load(path.read_text())
    change(document)
    path.write_text(yaml.safe_dump(document))


def _study(folder: Path, study: str, **keys) -> None:
    _edit(folder, "config/config.yaml", lambda config: config["studies"][study].update(keys))


def _fooling_entry(folder: Path, **keys) -> None:
    _edit(folder, "config/studies/fooling/tiny.yaml", lambda entries: entries[0].update(keys))


def _extra(folder: Path, document: dict) -> list[str]:
    """A --configfile merged over config/config.yaml (arguments for snakemake)."""
    (folder / "extra.yaml").write_text(yaml.safe_dump(document))
    return ["--configfile", str(folder / "extra.yaml")]


def _broken_config(folder: Path) -> None:
    (folder / "config/config.yaml").write_text("studies: [\n")


def _defaults(folder: Path, mode: str, **keys) -> None:
    def change(config):
        config["studies"]["collisions_mnist"]["defaults"][mode].update(keys)

    _edit(folder, "config/config.yaml", change)


CASES = {
    "fooling_model": (
        lambda folder: _fooling_entry(folder, model="resnet50"),
        "config/studies/fooling/tiny.yaml: [0].model: 'resnet50' is not a network of the "
        "config's models (allowed: lenet, mlp, vgg16)",
    ),
    "fooling_classes": (
        lambda folder: _fooling_entry(folder, classes=[3, 10]),
        "config/studies/fooling/tiny.yaml: [0].classes[1]: 10 is not one of lenet's 10 outputs "
        "(allowed: 0-9)",
    ),
    "defences_collision_experiments": (
        lambda folder: _study(
            folder,
            "defences",
            adaptive={"collision_experiments": ["no_such_experiment"]},
        ),
        "config/config.yaml: studies.defences.adaptive.collision_experiments[0]: "
        f"'no_such_experiment' is not an experiment of collisions_mnist (allowed: {COLLISIONS})",
    ),
    "defences_with_collisions_disabled": (
        lambda folder: _extra(
            folder,
            {
                "studies": {
                    "collisions_mnist": {"enabled": False},
                    "defences": {"adaptive": {"collision_experiments": ["no_such_experiment"]}},
                }
            },
        ),
        "extra.yaml: studies.defences.adaptive.collision_experiments[0]: 'no_such_experiment' "
        "is not an experiment of collisions_mnist, which is disabled: enable it for its corners "
        f"to be redone (allowed: {COLLISIONS})",
    ),
    "paper_case": (
        lambda folder: _study(folder, "collisions_mnist", paper_case="no_such_case"),
        "config/config.yaml: studies.collisions_mnist.paper_case: 'no_such_case' is not an "
        f"experiment (allowed: {COLLISIONS})",
    ),
    "micro_defaults_typo": (
        lambda folder: _defaults(folder, "micro", max_step=3),
        "config/config.yaml: studies.collisions_mnist.defaults.micro.max_step: unknown key "
        f"(allowed: {MICRO_KEYS})",
    ),
    "macro_defaults_typo": (
        lambda folder: _defaults(folder, "macro", wtv=3),
        "config/config.yaml: studies.collisions_mnist.defaults.macro.wtv: unknown key "
        f"(allowed: {MACRO_KEYS})",
    ),
    "experiment_unknown_key": (
        lambda folder: _edit(
            folder,
            "config/studies/fooling/tiny.yaml",
            lambda entries: entries[2].update(stpes=3),
        ),
        f"config/studies/fooling/tiny.yaml: [2].stpes: unknown key (allowed: {ASCEND_KEYS})",
    ),
    "schema_error_in_a_configfile": (
        lambda folder: _extra(folder, {"studies": {"defences": {"fgsm": {"epsilons": [2]}}}}),
        "extra.yaml: studies.defences.fgsm.epsilons[0]: 2 is greater than the maximum of 1",
    ),
    "schema_error_on_the_command_line": (
        lambda folder: ["--config", "models={mlp: {epochs: x}}"],
        "--config: models.mlp.epochs: 'x' is not of type 'integer'",
    ),
    "szegedy_base": (
        lambda folder: _study(folder, "szegedy", adversarial_training={"base": "nope"}),
        "config/config.yaml: studies.szegedy.adversarial_training.base: 'nope' is not an "
        "experiment of the study (allowed: fc10_1e-4, fc100-100-10)",
    ),
    "yaml_error_in_the_config_file": (
        _broken_config,
        "config/config.yaml: not valid YAML, line 2, column 1: expected the node content, but "
        "found '<stream end>' (while parsing a flow node); fix the file (indent with spaces "
        "only, quote values that contain ': ' or start with '[', '{' or '*')",
    ),
    "missing_configfile": (
        lambda folder: ["--configfile", str(folder / "nope.yaml")],
        "{folder}/nope.yaml: file not found (looked for {folder}/nope.yaml)",
    ),
}


def _config_errors(folder: Path, *arguments: str):
    run = run_snakemake(folder, None, "--cores", "1", *arguments, env=runner_environment())
    output = run.stdout + run.stderr
    assert run.returncode != 0 and "Traceback" not in output, output[-3000:]
    return [line for line in output.splitlines() if "Config error" in line]


@pytest.mark.parametrize("case", CASES)
def test_a_bad_configuration_stops_before_any_job_with_one_line(tmp_path, case):
    copy_test_config(tmp_path)
    edit, expected = CASES[case]
    arguments = edit(tmp_path)
    lines = _config_errors(tmp_path, "--dry-run", *(arguments or []))
    assert lines == ["Config error: " + expected.replace("{folder}", str(tmp_path))]


def test_a_job_that_would_fail_on_its_settings_never_deletes_good_outputs(tmp_path):
    """Snakemake deletes a job's old outputs before it runs it: a bad setting must stop first."""
    copy_test_config(tmp_path)
    fooling = FOOLING.under(tmp_path)
    finished = {
        Path(fooling.path("evolve", experiment=name, run=0)): name.encode()
        for name in ("lenet_direct", "lenet_cppn")
    }
    next(iter(finished)).parent.mkdir(parents=True)
    for path, content in finished.items():
        path.write_bytes(content)
    times = {path: os.stat(path).st_mtime_ns for path in finished}
    _fooling_entry(tmp_path, classes=[3, 10])
    target = FOOLING.path("evolve", experiment="lenet_direct", run=0)
    assert _config_errors(tmp_path, target) == ["Config error: " + CASES["fooling_classes"][1]]
    for path, content in finished.items():
        assert path.read_bytes() == content and os.stat(path).st_mtime_ns == times[path]
    assert not (tmp_path / "logs").exists()  # no job started

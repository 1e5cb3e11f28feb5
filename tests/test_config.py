"""Schema validation: every bad config fails with one line that names the key."""

import copy
from pathlib import Path

import pytest
import yaml

from fooled.core.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "workflow" / "schemas"


@pytest.fixture
def default_config():
    return yaml.safe_load((ROOT / "config" / "config.yaml").read_text())


def _error(config, base=ROOT):
    with pytest.raises(ConfigError) as caught:
        load_config(config, SCHEMAS, base=base)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_default_config_is_valid_and_experiments_inherit_defaults(default_config):
    config, experiments = load_config(default_config, SCHEMAS, base=ROOT)
    assert len(experiments) >= 21
    paper = experiments["paper_3_to_7"]
    assert paper["seed"] == {"class": 3, "index": 0} and paper["target"] == {"class": 7, "index": 0}
    assert paper["w_pos"] == config["collide_defaults"]["w_pos"]
    assert experiments["paper_3_to_7_literal"]["w_pos"] == 1.0
    pairs = {(e["seed"]["class"], e["target"]["class"]) for e in experiments.values()}
    assert len(pairs) >= 20


def test_unknown_top_level_key(default_config):
    default_config["colide_defaults"] = {}
    assert "unknown key colide_defaults" in _error(default_config)


def test_unknown_nested_key(default_config):
    default_config["collide_defaults"]["wpos"] = 2
    assert "collide_defaults.wpos" in _error(default_config)


def test_wrong_type(default_config):
    default_config["train"]["epochs"] = "ten"
    message = _error(default_config)
    assert "train.epochs" in message and "'ten'" in message


def test_out_of_range_class_in_an_experiment_list(default_config, tmp_path):
    experiments = yaml.safe_load((ROOT / "config/experiments/mnist_micro.yaml").read_text())
    broken = copy.deepcopy(experiments[:2])
    broken[1]["target"]["class"] = 12
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(broken))
    default_config["experiment_lists"] = ["bad.yaml"]
    message = _error(default_config, base=tmp_path)
    assert message.startswith("bad.yaml: [1].target.class") and "12" in message


def test_duplicate_experiment_name(default_config, tmp_path):
    experiments = yaml.safe_load((ROOT / "config/experiments/mnist_micro.yaml").read_text())
    (tmp_path / "twice.yaml").write_text(yaml.safe_dump([experiments[0], experiments[0]]))
    default_config["experiment_lists"] = ["twice.yaml"]
    assert "used twice" in _error(default_config, base=tmp_path)


def test_missing_experiment_list(default_config, tmp_path):
    default_config["experiment_lists"] = ["nowhere.yaml"]
    assert "nowhere.yaml: file not found" in _error(default_config, base=tmp_path)

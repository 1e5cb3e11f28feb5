"""The study's schema: defaults build every settings object; the full config is valid and lean."""

from pathlib import Path

import pytest
import yaml

from fooled.attacks.fgsm import FGSMSettings
from fooled.attacks.pgd import PGDSettings
from fooled.core.config import ConfigError, schema_defaults
from fooled.models.adversarial_training import AdversarialTrainingSettings
from fooled.models.autoencoder import AutoencoderSettings
from fooled.studies.defences.stages import study_settings

ROOT = Path(__file__).resolve().parents[1]


def _leaves(mapping, prefix=()):
    for key, value in mapping.items():
        if isinstance(value, dict):
            yield from _leaves(value, (*prefix, key))
        else:
            yield (*prefix, key), value


def test_defaults_build_every_settings_object():
    defaults = schema_defaults("studies/defences.schema.yaml")
    assert study_settings() == defaults
    assert FGSMSettings.from_config(defaults["fgsm"] | {"penalty_weight": 0.0}).epsilons == (
        0.1,
        0.25,
    )
    assert AdversarialTrainingSettings.from_config(defaults["adversarial_training"]).alpha == 0.5
    assert AutoencoderSettings.from_config(defaults["autoencoder"]).loss == "bce"
    # PGD: the preset's steps, at FGSM's epsilons and on its batches and gradient
    pgd = PGDSettings.beside_fgsm(defaults["pgd"], defaults["fgsm"])
    assert (pgd.epsilons, pgd.steps, pgd.step_size) == ((0.1, 0.25), 40, 0.01)
    assert pgd.gradient == defaults["fgsm"]["gradient"] and pgd.penalty_weight == 0.0
    own = PGDSettings.beside_fgsm(
        defaults["pgd"] | {"epsilons": [0.3], "restarts": 5}, defaults["fgsm"]
    )
    assert (own.epsilons, own.restarts) == ((0.3,), 5)


def test_full_config_is_valid_and_restates_no_default():
    section = yaml.safe_load((ROOT / "config/defences.yaml").read_text())["studies"]["defences"]
    complete = study_settings(section, "config/defences.yaml")
    defaults = schema_defaults("studies/defences.schema.yaml")
    for path, value in _leaves(section):
        default = defaults
        for key in path:
            default = default[key]
        assert value != default, f"config/defences.yaml restates the default of {'.'.join(path)}"
    assert complete["autoencoder"]["epochs"] == 50 and complete["autoencoder"]["loss"] == "bce"


def test_a_bad_value_fails_with_one_line_naming_the_key():
    with pytest.raises(ConfigError) as caught:
        study_settings({"autoencoder": {"loss": "l1"}})
    message = str(caught.value)
    assert "studies.defences.autoencoder.loss" in message and "\n" not in message
    with pytest.raises(ConfigError, match="unknown key"):
        study_settings({"fgsm": {"epsilon": 0.3}})

"""The fooling study's schema, experiment lists and paper-scale config validate and merge."""

from pathlib import Path

import pytest
import yaml

from fooled.core.config import (
    ConfigError,
    load_experiments,
    project_schemas,
    schema_defaults,
)

ROOT = Path(__file__).resolve().parents[1]
STUDY = "studies/fooling.schema.yaml"


def complete(name: str, document: dict) -> dict:
    """``document`` with the schema's defaults filled in, validated against schema ``name``."""
    schemas = project_schemas()
    schema, base = schemas.at(name)
    filled = schemas.fill_defaults(document, schema, base)
    schemas.validate(filled, schema, base, name)
    return filled


def test_quick_lists_merge_over_the_quick_defaults():
    section = complete(STUDY, {"experiment_lists": ["config/studies/fooling/quick.yaml"]})
    experiments = load_experiments("fooling", section, project_schemas(), [ROOT])
    assert list(experiments) == ["lenet_direct", "lenet_cppn", "lenet_ascent", "lenet_retrain"]
    direct, cppn = experiments["lenet_direct"], experiments["lenet_cppn"]
    assert direct["mode"] == "evolve" and direct["encoding"] == "direct"
    assert direct["generations"] == 200 and direct["population_size"] == 200
    assert cppn["generations"] == 50 and cppn["cppn"]["add_node_rate"] == 0.5
    assert experiments["lenet_ascent"]["steps"] == 300
    assert experiments["lenet_ascent"]["l2_decay"] == 0.01
    assert experiments["lenet_retrain"]["rounds"] == 1


def test_paper_scale_config_and_lists():
    config = yaml.safe_load((ROOT / "config" / "fooling.yaml").read_text())
    lenet = complete("models/lenet.schema.yaml", config["models"]["lenet"])
    assert lenet["max_train_samples"] is None and lenet["epochs"] == 3
    section = complete(STUDY, config["studies"]["fooling"])
    assert section["defaults"]["evolve"]["population_size"] == 200
    assert section["defaults"]["evolve"]["direct"]["eta"] == 15.0  # merged over the default
    lists = section["experiment_lists"] + ["config/studies/fooling/imagenet.yaml"]
    experiments = load_experiments(
        "fooling", {**section, "experiment_lists": lists}, project_schemas(), [ROOT]
    )
    assert experiments["mlp_cppn"]["runs"] == 5 and experiments["mlp_cppn"]["model"] == "mlp"
    assert experiments["lenet_retrain_cppn"]["rounds"] == 3
    assert experiments["vgg16_cppn"]["classes"] == list(range(10))


def test_defaults_are_the_authors_settings_where_they_are_known():
    evolve = schema_defaults(STUDY, "defaults", "evolve")
    assert evolve["direct"] == {
        "mutation_rate": 0.1,
        "rate_halving_generations": 1000,
        "eta": 15.0,
        "crossover_rate": 0.5,
        "crossover_eta": 10.0,
    }
    assert evolve["thresholds"] == [0.99, 0.999, 0.9999]
    ascend = schema_defaults(STUDY, "defaults", "ascend")
    assert (ascend["steps"], ascend["l2_decay"]) == (300, 0.01)


def test_a_bad_experiment_fails_with_one_line(tmp_path):
    entries = [{"name": "bad", "encoding": "cppn", "cppn": {"add_node_rate": 1.5}}]
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(entries))
    section = complete(STUDY, {"experiment_lists": ["bad.yaml"]})
    with pytest.raises(ConfigError) as caught:
        load_experiments("fooling", section, project_schemas(), [tmp_path])
    assert "bad.yaml: [0].cppn.add_node_rate" in str(caught.value) and "\n" not in str(caught.value)
    entries = [{"name": "typo", "mode": "ascend", "stpes": 3}]
    (tmp_path / "typo.yaml").write_text(yaml.safe_dump(entries))
    with pytest.raises(ConfigError, match="stpes"):
        load_experiments(
            "fooling", {**section, "experiment_lists": ["typo.yaml"]}, project_schemas(), [tmp_path]
        )

"""The one config loader: defaults from the schemas, deep merge, one experiment-list format,
one-line errors, and every default defined once."""

import ast
import copy
import dataclasses
import importlib
import pkgutil
from pathlib import Path

import pytest
import yaml

import fooled
from fooled.core.config import (
    ConfigError,
    ConfigSources,
    LoadedConfig,
    Origin,
    Schemas,
    deep_merge,
    load_config,
    read_yaml,
    schema_defaults,
)
from fooled.data.imagenet import check_settings as check_imagenet_dataset
from fooled.studies import registry

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = Schemas(ROOT / "workflow" / "schemas")
# The workflow's checks (the study registry's, as workflow/rules/common.smk runs them).
CHECKS = registry.checks()
MICRO = ROOT / "config" / "studies" / "collisions_mnist" / "micro.yaml"


@pytest.fixture
def default_config():
    return yaml.safe_load((ROOT / "config" / "config.yaml").read_text())


def _load(config, base=ROOT, sources=None):
    shared = [lambda loaded: check_imagenet_dataset(loaded.config["datasets"]["imagenet"])]
    return load_config(config, SCHEMAS, [Path(base), ROOT], CHECKS, sources, shared)


def _error(config, base=ROOT, sources=None):
    with pytest.raises(ConfigError) as caught:
        _load(config, base, sources)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_default_config_is_valid_and_experiments_inherit_defaults(default_config):
    config, experiments = _load(default_config)
    mnist = experiments["collisions_mnist"]
    assert len(mnist) >= 25
    paper = mnist["paper_3_to_7"]
    assert paper["seed"] == {"class": 3, "index": 0} and paper["target"] == {"class": 7, "index": 0}
    micro_defaults = config["studies"]["collisions_mnist"]["defaults"]["micro"]
    assert paper["w_pos"] == micro_defaults["w_pos"] == 4.0 and paper["mode"] == "micro"
    assert mnist["paper_3_to_7_literal"]["w_pos"] == 1.0
    assert mnist["macro_3_to_7"]["mode"] == "macro" and mnist["macro_3_to_7"]["w_pos"] == 1000.0
    pairs = {(e["seed"]["class"], e["target"]["class"]) for e in mnist.values()}
    assert len(pairs) >= 20
    # Every section is complete: defaults came from the schemas.
    assert config["models"]["mlp"]["hidden_units"] == [256, 256]
    assert config["datasets"]["mnist"]["retries"] == 3
    assert config["studies"]["collisions_imagenet"]["enabled"] is False
    assert experiments["collisions_imagenet"] == {}


def test_paper_scale_and_sample_configs_are_valid(default_config):
    loaded = {}
    for name in ("imagenet.yaml", "imagenet_sample.yaml"):
        merged = deep_merge(default_config, read_yaml(ROOT / "config" / name))
        config, experiments = _load(merged)
        imagenet = loaded[name] = experiments["collisions_imagenet"]
        assert set(imagenet) >= {"home_theater_to_jeep", "church_to_cleaver"}, name
        assert imagenet["church_to_cleaver"]["mode"] == "macro"
        assert config["studies"]["collisions_imagenet"]["enabled"] is True
    # config/imagenet.yaml keeps the authors' macro settings: the study's defaults.
    assert loaded["imagenet.yaml"]["trimaran_to_obelisk"]["max_steps"] == 20000
    assert loaded["imagenet_sample.yaml"]["trimaran_to_obelisk"]["max_steps"] == 4


def test_merging_is_deep(default_config):
    merged = deep_merge(
        default_config, {"studies": {"collisions_mnist": {"defaults": {"micro": {"w_pos": 7.0}}}}}
    )
    config, experiments = _load(merged)
    micro = config["studies"]["collisions_mnist"]["defaults"]["micro"]
    assert micro["w_pos"] == 7.0 and micro["learning_rate"] == 0.005  # the rest kept
    assert experiments["collisions_mnist"]["pair_0_to_1"]["w_pos"] == 7.0
    assert experiments["collisions_mnist"]["paper_3_to_7_literal"]["w_pos"] == 1.0


def test_unknown_top_level_key(default_config):
    default_config["studys"] = {}
    assert _error(default_config) == (
        "config: studys: unknown key (allowed: datasets, models, report, studies)"
    )


def test_unknown_nested_key(default_config):
    default_config["studies"]["collisions_mnist"]["defaults"] = {"micro": {"wpos": 2}}
    message = _error(default_config)
    assert "wpos" in message and "studies.collisions_mnist.defaults.micro" in message


def test_wrong_type(default_config):
    default_config["models"] = {"mlp": {"epochs": "ten"}}
    message = _error(default_config)
    assert "models.mlp.epochs" in message and "'ten'" in message


def test_out_of_range_class_in_an_experiment_list(default_config, tmp_path):
    broken = copy.deepcopy(yaml.safe_load(MICRO.read_text())[:2])
    broken[1]["target"]["class"] = 12
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(broken))
    default_config["studies"]["collisions_mnist"]["experiment_lists"] = ["bad.yaml"]
    message = _error(default_config, base=tmp_path)
    assert message.startswith("bad.yaml: [1].target.class") and "12" in message


def test_an_unknown_experiment_key_is_named(default_config, tmp_path):
    (tmp_path / "bad.yaml").write_text(
        yaml.safe_dump(
            [
                {
                    "name": "x",
                    "seed": {"class": 1, "index": 0},
                    "target": {"class": 2, "index": 0},
                    "wpos": 3,
                }
            ]
        )
    )
    default_config["studies"]["collisions_mnist"]["experiment_lists"] = ["bad.yaml"]
    message = _error(default_config, base=tmp_path)
    assert message.startswith("bad.yaml: [0].wpos: unknown key (allowed: ")
    # Every key an experiment may set: its own and the study defaults' keys.
    allowed = set(message.split("(allowed: ")[1].rstrip(")").split(", "))
    defaults = schema_defaults("studies/collisions_mnist.schema.yaml", "defaults", "micro")
    assert allowed == {"name", "description", "mode", "seed", "target"} | set(defaults)


def test_a_macro_schedule_that_does_not_fit_is_refused(default_config, tmp_path):
    entry = {
        "name": "m",
        "mode": "macro",
        "seed": {"class": 3, "index": 0},
        "target": {"class": 7, "index": 0},
        "schedule": {"boundaries": [10], "values": [0.1]},
    }
    (tmp_path / "macro.yaml").write_text(yaml.safe_dump([entry]))
    default_config["studies"]["collisions_mnist"]["experiment_lists"] = ["macro.yaml"]
    assert _error(default_config, base=tmp_path) == (
        "macro.yaml: [0].schedule: has 1 values and 1 boundaries (need one value more)"
    )


def test_duplicate_experiment_name(default_config, tmp_path):
    experiments = yaml.safe_load(MICRO.read_text())
    (tmp_path / "twice.yaml").write_text(yaml.safe_dump([experiments[0], experiments[0]]))
    default_config["studies"]["collisions_mnist"]["experiment_lists"] = ["twice.yaml"]
    assert "used twice" in _error(default_config, base=tmp_path)


def test_missing_experiment_list(default_config, tmp_path):
    default_config["studies"]["collisions_mnist"]["experiment_lists"] = ["nowhere.yaml"]
    assert _error(default_config, base=tmp_path) == (
        "config: studies.collisions_mnist.experiment_lists[0]: nowhere.yaml: file not found "
        f"(looked in {tmp_path}, {ROOT})"
    )


def test_lists_resolve_in_the_working_directory_first(default_config, tmp_path):
    own = tmp_path / "config" / "studies" / "collisions_mnist"
    own.mkdir(parents=True)
    (own / "micro.yaml").write_text(yaml.safe_dump(yaml.safe_load(MICRO.read_text())[:1]))
    _, experiments = _load(default_config, base=tmp_path)
    micro = [n for n, e in experiments["collisions_mnist"].items() if e["mode"] == "micro"]
    assert micro == ["paper_3_to_7"]  # the working directory's list, not the repository's


def test_a_macro_imagenet_seed_must_name_a_seed_image(default_config):
    merged = deep_merge(default_config, read_yaml(ROOT / "config" / "imagenet_sample.yaml"))
    merged["datasets"]["imagenet"]["seeds"] = merged["datasets"]["imagenet"]["seeds"][:1]
    assert _error(merged) == (
        "config/studies/collisions_imagenet/paper.yaml: [3].seed: 'eggnog' names no "
        "datasets.imagenet.seeds entry (allowed: trimaran)"
    )


def test_a_yaml_syntax_error_names_file_line_and_remedy(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("studies:\n  collisions_mnist:\n    enabled: [true\n    paper_case: x\n")
    with pytest.raises(ConfigError) as caught:
        read_yaml(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: not valid YAML, line 4, column")
    assert "fix the file" in message and "\n" not in message


# ----------------------------------------------------------------------------- the file, the key


def _sources(*documents):
    """The sources of a config merged from labelled documents, lowest precedence first."""
    return ConfigSources(list(documents), SCHEMAS)


def _error_from(*documents, base=ROOT):
    """The one-line error of the config Snakemake would merge from ``documents``."""
    merged = {}
    for _, document in documents:
        merged = deep_merge(merged, document)
    return _error(merged, base, _sources(*documents))


def _list(folder, name, entries):
    (folder / name).write_text(yaml.safe_dump(entries))
    return name


def test_the_file_of_a_key_is_the_last_document_that_set_it():
    sources = _sources(
        (
            "config/config.yaml",
            {"studies": {"defences": {"fgsm": {"epsilons": [0.1], "steps": 2}}}},
        ),
        ("extra.yaml", {"studies": {"defences": {"fgsm": {"epsilons": [0.3]}}}}),
        ("--config", {"models": {"mlp": {"epochs": 2}}}),
    )
    fgsm = ["studies", "defences", "fgsm"]
    assert sources.file_of([*fgsm, "epsilons", 0]) == "extra.yaml"  # a list is replaced whole
    assert sources.file_of([*fgsm, "steps"]) == "config/config.yaml"
    assert sources.file_of(["models", "mlp", "epochs"]) == "--config"
    assert sources.file_of(["models", "mlp", "seed"]) == (
        "workflow/schemas/models/mlp.schema.yaml (default)"
    )
    assert sources.file_of(["studies", "collisions_mnist", "defaults", "micro", "w_pos"]) == (
        "workflow/schemas/studies/collisions_mnist.schema.yaml (default)"
    )


def test_an_experiment_key_is_the_list_s_where_the_entry_sets_it_else_the_defaults():
    entry = {"name": "x", "cppn": {"add_node_rate": 0.5}}
    defaults = ("studies", "fooling", "defaults", "evolve")
    origin = Origin("list.yaml", 2, entry, defaults)
    sources = _sources(
        ("my.yaml", {"studies": {"fooling": {"defaults": {"evolve": {"cppn": {}}}}}})
    )
    loaded = LoadedConfig({}, {"fooling": {"x": {}}}, {"fooling": {"x": origin}}, sources)
    set_here = loaded.experiment_error("fooling", "x", ["cppn", "add_node_rate"], "bad", [1])
    assert str(set_here) == "list.yaml: [2].cppn.add_node_rate: bad (allowed: 1)"
    merged_in = loaded.experiment_error("fooling", "x", ["cppn", "weight_eta"], "bad")
    assert str(merged_in) == (
        "workflow/schemas/studies/fooling.schema.yaml (default): "
        "studies.fooling.defaults.evolve.cppn.weight_eta: bad"
    )


def test_a_schema_error_names_the_configfile_that_set_the_key(default_config):
    extra = {"studies": {"defences": {"fgsm": {"epsilons": [2]}}}}
    assert _error_from(("config/config.yaml", default_config), ("extra.yaml", extra)) == (
        "extra.yaml: studies.defences.fgsm.epsilons[0]: 2 is greater than the maximum of 1"
    )
    command_line = {"models": {"mlp": {"epochs": "x"}}}
    assert _error_from(("config/config.yaml", default_config), ("--config", command_line)) == (
        "--config: models.mlp.epochs: 'x' is not of type 'integer'"
    )


@pytest.mark.parametrize("mode", ["micro", "macro"])
def test_a_typo_in_study_defaults_lists_the_valid_keys(default_config, mode):
    extra = {"studies": {"collisions_mnist": {"defaults": {mode: {"max_step": 5}}}}}
    keys = schema_defaults("studies/collisions_mnist.schema.yaml", "defaults", mode)
    assert _error_from(("config/config.yaml", default_config), ("my.yaml", extra)) == (
        f"my.yaml: studies.collisions_mnist.defaults.{mode}.max_step: unknown key "
        f"(allowed: {', '.join(sorted(keys))})"
    )


def test_the_paper_case_is_an_experiment(default_config):
    extra = {"studies": {"collisions_mnist": {"paper_case": "no_such_case"}}}
    message = _error_from(("config/config.yaml", default_config), ("my.yaml", extra))
    assert message.startswith(
        "my.yaml: studies.collisions_mnist.paper_case: 'no_such_case' is not an experiment "
        "(allowed: paper_3_to_7, paper_3_to_7_literal, "
    )


def test_collision_layers_and_corners_fit_the_mlp(default_config, tmp_path):
    entry = {"name": "deep", "seed": {"class": 3, "index": 0}, "target": {"class": 7, "index": 0}}
    lists = {"experiment_lists": [_list(tmp_path, "micro.yaml", [entry | {"layer": "fc3"}])]}
    config = {"studies": {"collisions_mnist": lists | {"paper_case": "deep"}}}
    assert _error(deep_merge(default_config, config), tmp_path) == (
        "micro.yaml: [0].layer: 'fc3' is not a hidden layer of models.mlp (allowed: fc1, fc2)"
    )
    # Five corners (the schema's default) need five units in the layer.
    narrow = {"models": {"mlp": {"hidden_units": [3]}}}
    assert _error_from(("config/config.yaml", default_config), ("narrow.yaml", narrow)) == (
        "workflow/schemas/studies/collisions_mnist.schema.yaml (default): "
        "studies.collisions_mnist.defaults.micro.n_corners: 5 corners, but layer fc1 of "
        "models.mlp has 3 units (allowed: at most 3)"
    )


def test_an_imagenet_image_file_must_exist(default_config, tmp_path):
    entry = {
        "name": "by_path",
        "mode": "micro",
        "seed": {"path": str(tmp_path / "nope.JPEG")},
        "target": {"synset": "n03594945", "index": 0},
    }
    study = {"enabled": True, "experiment_lists": [_list(tmp_path, "cases.yaml", [entry])]}
    config = deep_merge(default_config, {"studies": {"collisions_imagenet": study}})
    assert _error(config, tmp_path) == (
        f"cases.yaml: [0].seed.path: file {tmp_path / 'nope.JPEG'} not found"
    )


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        (
            {"model": "resnet50"},
            "[0].model: 'resnet50' is not a network of the config's models "
            "(allowed: lenet, mlp, vgg16)",
        ),
        (
            {"classes": [3, 10]},
            "[0].classes[1]: 10 is not one of lenet's 10 outputs (allowed: 0-9)",
        ),
        (
            {"mode": "ascend", "model": "vgg16", "classes": [999, 1000]},
            "[0].classes[1]: 1000 is not one of vgg16's 1000 outputs (allowed: 0-999)",
        ),
        (
            {"mode": "retrain", "model": "vgg16"},
            "[0].model: retraining needs an MNIST network, not 'vgg16' (allowed: lenet, mlp)",
        ),
    ],
)
def test_fooling_models_and_classes(default_config, tmp_path, entry, problem):
    lists = [_list(tmp_path, "fooling.yaml", [{"name": "x"} | entry])]
    config = deep_merge(default_config, {"studies": {"fooling": {"experiment_lists": lists}}})
    assert _error(config, tmp_path) == f"fooling.yaml: {problem}"


def test_a_fooling_model_from_the_defaults_names_the_defaults_file(default_config):
    extra = {"studies": {"fooling": {"defaults": {"evolve": {"model": "resnet50"}}}}}
    assert _error_from(("config/config.yaml", default_config), ("fooling.yaml", extra)) == (
        "fooling.yaml: studies.fooling.defaults.evolve.model: 'resnet50' is not a network of "
        "the config's models (allowed: lenet, mlp, vgg16)"
    )


def test_the_classes_of_a_model_file_are_not_known_before_it_is_loaded(default_config, tmp_path):
    (tmp_path / "model.keras").write_bytes(b"")
    lists = [_list(tmp_path, "fooling.yaml", [{"name": "x", "model": "vgg16", "classes": [5000]}])]
    config = deep_merge(
        default_config,
        {
            "models": {"imagenet": {"architecture": "file", "file": str(tmp_path / "model.keras")}},
            "studies": {"fooling": {"experiment_lists": lists}},
        },
    )
    _, experiments = _load(config, tmp_path)
    assert experiments["fooling"]["x"]["classes"] == [5000]


def test_adaptive_collision_experiments_are_collision_experiments(default_config):
    adaptive = {"studies": {"defences": {"adaptive": {"collision_experiments": ["nope"]}}}}
    prefix = (
        "defences.yaml: studies.defences.adaptive.collision_experiments[0]: 'nope' is not an "
        "experiment of collisions_mnist"
    )
    message = _error_from(("config/config.yaml", default_config), ("defences.yaml", adaptive))
    assert message.startswith(f"{prefix} (allowed: paper_3_to_7, ")
    off = deep_merge(adaptive, {"studies": {"collisions_mnist": {"enabled": False}}})
    message = _error_from(("config/config.yaml", default_config), ("defences.yaml", off))
    assert message.startswith(
        f"{prefix}, which is disabled: enable it for its corners to be redone (allowed: "
    )
    # null (every experiment) is fine; so are any names when the other study has none at all.
    every = {"studies": {"defences": {"adaptive": {"collision_experiments": None}}}}
    _load(deep_merge(default_config, every))
    none = {"studies": {"collisions_mnist": {"enabled": False, "experiment_lists": []}}}
    _load(deep_merge(deep_merge(default_config, adaptive), none))


@pytest.mark.parametrize(
    ("section", "problem"),
    [
        (
            {"adversarial_training": {"base": "nope"}},
            "my.yaml: studies.szegedy.adversarial_training.base: 'nope' is not an experiment "
            "of the study (allowed: fc10_1e-4, ",
        ),
        (
            {"adversarial_training": {"base": "ae400-10"}},
            "my.yaml: studies.szegedy.adversarial_training.base: 'ae400-10' is not a sigmoid or "
            "ReLU MLP (allowed: fc10_1e-4, ",
        ),
        (
            {"units": {"models": ["fc100-100-10", "nope"]}},
            "my.yaml: studies.szegedy.units.models[1]: 'nope' is not an experiment with a hidden "
            "layer (allowed: fc100-100-10, ",
        ),
        (
            {"units": {"models": ["fc10_1e-4"]}},
            "my.yaml: studies.szegedy.units.models[0]: 'fc10_1e-4' is not an experiment with a "
            "hidden layer (allowed: fc100-100-10, ",
        ),
        (
            {"bounds": {"models": ["nope"]}},
            "my.yaml: studies.szegedy.bounds.models[0]: 'nope' is not an experiment (allowed: ",
        ),
    ],
)
def test_szegedy_names_its_experiments(default_config, section, problem):
    extra = {"studies": {"szegedy": section}}
    assert _error_from(("config/config.yaml", default_config), ("my.yaml", extra)).startswith(
        problem
    )


@pytest.mark.parametrize(
    ("entries", "problem"),
    [
        (
            [{"name": "a", "architecture": "fc100-5"}],
            "[0].architecture: the last layer must have 10 units "
            "(allowed: fc10, fcA-B-...-10, aeH-10, reluA-B-10)",
        ),
        (
            [{"name": "a", "architecture": "fc100-10", "weight_decay": [0.1, 0.1, 0.1]}],
            "[0].weight_decay: 3 values for the 2 Dense layers of fc100-10 "
            "(allowed: one number, or a list of 2)",
        ),
        (
            [
                {"name": "a", "architecture": "fc10"},
                {"name": "b", "architecture": "fc10", "seeds": [1]},
            ],
            "[1].seeds: [1] differ from a's seeds; transfer pairs the models seed by seed "
            "(allowed: [0])",
        ),
        (
            [{"name": n, "architecture": "fc10", "table": "cross_training"} for n in "ab"],
            "[1].table: Tables 3-4 take three models (A and B on P1, C on P2), got 2: a, b",
        ),
    ],
)
def test_szegedy_models_are_consistent(default_config, tmp_path, entries, problem):
    study = {"experiment_lists": [_list(tmp_path, "models.yaml", entries)]}
    study["adversarial_training"] = {"enabled": False}
    config = deep_merge(default_config, {"studies": {"szegedy": study}})
    assert _error(config, tmp_path) == f"models.yaml: {problem}"


def test_model_files_a_config_names_must_exist(default_config, tmp_path, monkeypatch):
    monkeypatch.setenv("MODELS", str(tmp_path))
    imagenet = {"models": {"imagenet": {"architecture": "file", "file": "$MODELS/vgg.keras"}}}
    assert _error_from(("config/config.yaml", default_config), ("my.yaml", imagenet)) == (
        f"my.yaml: models.imagenet.file: file {tmp_path}/vgg.keras (from $MODELS/vgg.keras) "
        "not found"
    )
    weights = {"models": {"imagenet": {"weights": str(tmp_path / "w.h5")}}}
    assert _error_from(("config/config.yaml", default_config), ("my.yaml", weights)) == (
        f"my.yaml: models.imagenet.weights: file {tmp_path / 'w.h5'} not found"
    )
    (tmp_path / "w.h5").write_bytes(b"")
    _load(deep_merge(default_config, weights))
    own = {"models": {"imagenet": {"weights": "file"}}}
    assert _error_from(("config/config.yaml", default_config), ("my.yaml", own)) == (
        "my.yaml: models.imagenet.weights: 'file', a model file's own weights, needs "
        "architecture 'file' (allowed: imagenet, random, a weights file)"
    )


def test_the_macro_query_grid_fits_a_digit(default_config):
    extra = {"studies": {"collisions_mnist": {"mnist_patches": {"grid": 12}}}}
    assert _error_from(("config/config.yaml", default_config), ("my.yaml", extra)) == (
        "my.yaml: studies.collisions_mnist.mnist_patches.grid: a 12x12 query grid with step 2 "
        "and 8-pixel patches does not fit a 28-pixel image (allowed: (grid - 1) * step + size "
        "<= 28)"
    )


def test_imagenet_images_are_files_or_ingested_classes(default_config, tmp_path):
    sample = deep_merge(default_config, read_yaml(ROOT / "config" / "imagenet_sample.yaml"))
    ingested = {"datasets": {"imagenet": {"classes": ["n04483307", "n07932039", "n03028079"]}}}
    message = _error_from(("config/config.yaml", sample), ("classes.yaml", ingested))
    assert message == (
        "config/studies/collisions_imagenet/paper.yaml: [0].seed.synset: n03529860 is not among "
        "datasets.imagenet.classes (the ingested ones) (allowed: n04483307, n07932039, n03028079)"
    )
    seeds = {
        "datasets": {
            "imagenet": {"seeds": [{"name": "trimaran", "synset": "n01443537", "index": 0}]}
        }
    }
    off = {"studies": {"collisions_imagenet": {"enabled": False, "experiment_lists": []}}}
    documents = [("config/config.yaml", sample), ("classes.yaml", ingested), ("seeds.yaml", seeds)]
    assert _error_from(*documents, ("off.yaml", off)) == (
        "seeds.yaml: datasets.imagenet.seeds[0].synset: n01443537 is not among "
        "datasets.imagenet.classes (the ingested ones) (allowed: n04483307, n07932039, n03028079)"
    )
    by_path = {"datasets": {"imagenet": {"seeds": [{"name": "a", "path": "~/nope.JPEG"}]}}}
    assert _error_from(("config/config.yaml", default_config), ("seeds.yaml", by_path)) == (
        f"seeds.yaml: datasets.imagenet.seeds[0].path: file {Path.home()}/nope.JPEG "
        "(from ~/nope.JPEG) not found"
    )


def test_a_check_that_knows_only_the_key_gets_the_file_named(default_config):
    seeds = [{"name": "a", "synset": "n01443537", "index": i} for i in range(2)]
    extra = {"datasets": {"imagenet": {"seeds": seeds}}}
    assert _error_from(("config/config.yaml", default_config), ("my.yaml", extra)) == (
        "my.yaml: datasets.imagenet.seeds: name used twice: a"
    )


def test_schema_defaults_reach_every_level():
    micro = schema_defaults("studies/collisions_mnist.schema.yaml", "defaults", "micro")
    assert micro["optimizer"] == "sgd" and micro["w_pos"] == 4.0
    imagenet = schema_defaults("studies/collisions_imagenet.schema.yaml", "defaults", "macro")
    assert imagenet["max_steps"] == 20000 and imagenet["schedule"]["boundaries"][0] == 2200
    assert schema_defaults("datasets/imagenet.schema.yaml", "index", "factory") == "Flat"


# ----------------------------------------------------------------------------- defaults once


def _schema_defaults_by_path():
    """Every `default` in the schemas, by the config path it applies to (objects expanded)."""
    found: dict[tuple, list] = {}

    def walk(schema, base, path, seen):
        schema, base = SCHEMAS._deref(schema, base)
        key = id(schema)
        if key in seen:
            return
        seen = seen | {key}
        for part in schema.get("allOf", []):
            walk(part, base, path, seen)
        for name, subschema in schema.get("properties", {}).items():
            resolved, sub_base = SCHEMAS._deref(subschema, base)
            for where in (subschema, resolved):
                if "default" in where:
                    found.setdefault((*path, name), []).append(where["default"])
                    if isinstance(where["default"], dict):
                        for inner, value in where["default"].items():
                            found.setdefault((*path, name, inner), []).append(value)
                    break
            walk(resolved, sub_base, (*path, name), seen)

    main, base = SCHEMAS.at("config.schema.yaml")
    walk(main, base, (), frozenset())
    return found


def test_each_config_key_has_at_most_one_default_in_the_schemas():
    doubled = {
        path: values for path, values in _schema_defaults_by_path().items() if len(values) > 1
    }
    assert not doubled, f"defaults defined twice: {doubled}"


def _leaves(document, path=()):
    if isinstance(document, dict):
        for key, value in document.items():
            yield from _leaves(value, (*path, key))
    else:
        yield path, document


def test_no_config_file_restates_a_default():
    defaults = {path: values[0] for path, values in _schema_defaults_by_path().items()}
    restated = []
    files = [*ROOT.glob("config/*.yaml"), *ROOT.glob(".test/**/config*.yaml")]
    assert files
    for path in files:
        for key, value in _leaves(read_yaml(path) or {}):
            if key in defaults and defaults[key] == value and not isinstance(value, dict):
                restated.append(f"{path.relative_to(ROOT)}: {'.'.join(key)} = {value!r}")
    assert not restated, "config files restate schema defaults: " + "; ".join(restated)


def _package_modules():
    for info in pkgutil.walk_packages(fooled.__path__, "fooled."):
        yield info.name


def test_settings_classes_have_no_defaults_of_their_own():
    """Classes built from the config (``from_config``) take every value from it."""
    offenders = []
    for name in _package_modules():
        path = Path(importlib.util.find_spec(name).origin)
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if not isinstance(node, ast.ClassDef):
                continue
            methods = {item.name for item in node.body if isinstance(item, ast.FunctionDef)}
            if "from_config" not in methods:
                continue
            module = importlib.import_module(name)
            cls = getattr(module, node.name)
            if dataclasses.is_dataclass(cls):
                for field in dataclasses.fields(cls):
                    if field.default is not dataclasses.MISSING or (
                        field.default_factory is not dataclasses.MISSING
                    ):
                        offenders.append(f"{name}.{node.name}.{field.name}")
    assert not offenders, f"settings with defaults outside the schemas: {offenders}"


def test_no_module_keeps_a_table_of_config_defaults():
    offenders = []
    for name in _package_modules():
        path = Path(importlib.util.find_spec(name).origin)
        for node in ast.parse(path.read_text()).body:  # module-level names
            targets = (
                node.targets
                if isinstance(node, ast.Assign)
                else ([node.target] if isinstance(node, ast.AnnAssign) else [])
            )
            for target in targets:
                if isinstance(target, ast.Name) and "DEFAULT" in target.id.upper():
                    offenders.append(f"{name}.{target.id}")
    assert not offenders, f"default tables outside the schemas: {offenders}"

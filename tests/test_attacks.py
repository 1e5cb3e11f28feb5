"""The attack contract (fooled.attacks.base): every attack is configured once, runs as
``run(model: ModelHandle, inputs, targets)``, returns its own result type, and does no file I/O.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import typing
from pathlib import Path

import keras
import numpy as np
import pytest

from fooled.attacks import base, composites, lbfgs, lp_corners
from fooled.attacks.ascent import AscentSettings, GradientAscent
from fooled.attacks.corners import CornerSettings, GradientCorners, TargetView
from fooled.attacks.encodings import make_encoding
from fooled.attacks.evolution import EvolutionSettings, MapElites
from fooled.attacks.fgsm import FGSM, FGSMSettings
from fooled.attacks.pgd import PGD, PGDSettings
from fooled.core.config import schema_defaults
from fooled.models.handle import ModelHandle

ATTACKS_PACKAGE = Path(__file__).resolve().parents[1] / "src" / "fooled" / "attacks"
ATTACKS = (
    GradientCorners,
    lp_corners.LPCorners,
    composites.MacroComposites,
    lbfgs.LBFGSAttack,
    MapElites,
    GradientAscent,
    FGSM,
    PGD,
)
RESUMABLE = (MapElites, composites.MacroComposites)
# What an attack may not do: import a file library, or call a function that writes or deletes.
FILE_MODULES = ("h5py", "fooled.core.h5io", "fooled.core.checkpoints", "pickle", "shutil")
FILE_METHODS = {
    "write_text",
    "write_bytes",
    "unlink",
    "mkdir",
    "rmdir",
    "rename",
    "touch",
    "save",
    "savez",
    "savez_compressed",
    "savetxt",
    "tofile",
    "to_csv",
    "write_index",
    "dump",
}
FILE_FUNCTIONS = {("os", "replace"), ("os", "remove"), ("os", "rename"), ("os", "makedirs")}


def hints(function) -> dict:
    """Its annotations, evaluated (names a module imports for type checking only included)."""
    checking_only = {"ModelHandle": ModelHandle, "TargetView": TargetView}
    return typing.get_type_hints(function, vars(inspect.getmodule(function)), checking_only)


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda cls: cls.__name__)
def test_every_attack_keeps_the_contract(attack):
    construct = list(inspect.signature(attack.__init__).parameters)
    assert construct[1] == "settings", "settings come first, at construction"
    run = inspect.signature(attack.run).parameters
    positional = [name for name, p in run.items() if p.kind is not inspect.Parameter.KEYWORD_ONLY]
    assert positional == ["self", "model", "inputs", "targets"]
    keyword_only = [name for name, p in run.items() if p.kind is inspect.Parameter.KEYWORD_ONLY]
    assert keyword_only == (list(base.RESUME_ARGUMENTS) if attack in RESUMABLE else [])
    assert "penalty" not in run, "a penalty is configured at construction"
    types = hints(attack.run)
    assert types["model"] is ModelHandle
    result = types["return"]
    assert dataclasses.is_dataclass(result)
    seconds = {field.name for field in dataclasses.fields(result)} | {
        name for name, value in vars(result).items() if isinstance(value, property)
    }
    assert "seconds" in seconds or isinstance(getattr(result, "seconds", None), property), (
        f"{result.__name__} records no seconds"
    )
    if attack in RESUMABLE:
        assert isinstance(attack.State, type) and hasattr(attack.State, "from_arrays")
        assert hints(attack.run)["resume"] == attack.State | None


def test_attacks_that_take_a_penalty_take_it_at_construction():
    takes = {cls for cls in ATTACKS if "penalty" in inspect.signature(cls.__init__).parameters}
    assert takes == set(ATTACKS) - {lp_corners.LPCorners}  # an LP has no place for one


# ----------------------------------------------------------------------------- on a model


@pytest.fixture(scope="module")
def model() -> ModelHandle:
    """A small real MLP (random weights) seen at its first ReLU layer, fed by the pixels."""
    from fooled.models.mlp import mnist_mlp

    keras.utils.set_random_seed(0)
    return ModelHandle(mnist_mlp((32,)), "fc1")


def _images(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 1, (n, 28, 28)).astype(np.float32)


def _settings(cls, schema: str, *pointer: str, **changes):
    return cls.from_config({**schema_defaults(schema, *pointer), **changes})


def _run(attack_class, model: ModelHandle):
    """Each attack, configured from its schema's defaults at a tiny size, on small inputs."""
    collisions = "studies/collisions_mnist.schema.yaml"
    fooling = "studies/fooling.schema.yaml"
    seed, target = _images(2)
    if attack_class is GradientCorners:
        settings = _settings(CornerSettings, collisions, "defaults", "micro", max_steps=3)
        return GradientCorners(settings).run(model, seed, target)
    if attack_class is lp_corners.LPCorners:
        settings = _settings(lp_corners.LPSettings, collisions, "polytope")
        return lp_corners.LPCorners(settings, n_corners=2).run(model, seed, target)
    if attack_class is composites.MacroComposites:
        macro = {"n_corners": 2, "max_steps": 2, "chunk_steps": 2, "checkpoint_every": 0}
        settings = _settings(composites.MacroSettings, collisions, "defaults", "macro", **macro)
        weights = np.full((3, 28, 28), 1 / 3)
        sources = composites.Sources(_images(3, 1)[..., None], weights)
        return composites.MacroComposites(settings).run(model, sources, target[..., None])
    if attack_class is lbfgs.LBFGSAttack:
        tiny = {"search_steps": 1, "max_iterations": 2, "batch_size": 2, "jit_compile": False}
        settings = _settings(lbfgs.LBFGSSettings, "studies/szegedy.schema.yaml", "attack", **tiny)
        return lbfgs.LBFGSAttack(settings).run(model, _images(2), np.array([1, 2]))
    if attack_class is MapElites:
        settings = _settings(
            EvolutionSettings, fooling, "defaults", "evolve", population_size=4, generations=2
        )
        defaults = schema_defaults(fooling, "defaults", "evolve")
        encoding = make_encoding("direct", defaults["direct"], (28, 28))
        return MapElites(settings, encoding).run(model, 0, [1, 2])
    if attack_class is GradientAscent:
        settings = _settings(AscentSettings, fooling, "defaults", "ascend", steps=2)
        return GradientAscent(settings).run(model, _images(2), [1, 2])
    if attack_class is FGSM:
        settings = FGSMSettings(
            epsilons=(0.1,), steps=1, batch_size=2, penalty_weight=0.0, gradient="float32"
        )
        return FGSM(settings).run(model, _images(2), np.array([1, 2]))
    if attack_class is PGD:
        settings = PGDSettings.preset(
            "madry_mnist", steps=2, seed=0, batch_size=2, penalty_weight=0.0, gradient="float32"
        )
        return PGD(settings).run(model, _images(2), np.array([1, 2]))
    raise AssertionError(f"no tiny run for {attack_class.__name__}")


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda cls: cls.__name__)
def test_every_attack_returns_its_result_type(attack, model):
    result = _run(attack, model)
    assert type(result) is hints(attack.run)["return"]
    assert isinstance(result, base.AttackResult) and result.seconds >= 0


# ----------------------------------------------------------------------------- no file I/O


def file_io(path: Path) -> list[str]:
    """What in a module imports a file library or calls a writing function (line: name)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        found += [
            f"{node.lineno}: import {name}"
            for name in names
            if any(name == module or name.startswith(f"{module}.") for module in FILE_MODULES)
        ]
        if isinstance(node, ast.Call):
            function = node.func
            if isinstance(function, ast.Name) and function.id == "open":
                found.append(f"{node.lineno}: open()")
            elif isinstance(function, ast.Attribute):
                owner = function.value.id if isinstance(function.value, ast.Name) else None
                if function.attr in FILE_METHODS or (owner, function.attr) in FILE_FUNCTIONS:
                    found.append(f"{node.lineno}: .{function.attr}()")
    return sorted(found, key=lambda line: int(line.split(":")[0]))


def test_the_file_check_finds_what_it_looks_for(tmp_path):
    module = tmp_path / "attack.py"
    module.write_text(
        "import h5py\nfrom fooled.core import h5io\nimport os\nimport numpy as np\n"
        "def run(path, x):\n"
        "    np.save(path, x)\n    os.replace(path, path)\n    open(path).read()\n"
        "    return x.replace(1, 2)\n"
    )
    assert file_io(module) == [
        "1: import h5py",
        "2: import fooled.core.h5io",
        "6: .save()",
        "7: .replace()",
        "8: open()",
    ]


def test_no_attack_module_reads_or_writes_files():
    modules = sorted(ATTACKS_PACKAGE.glob("*.py"))
    assert len(modules) >= 8
    offenders = {path.name: found for path in modules if (found := file_io(path))}
    assert not offenders, offenders

"""The package set is one: pyproject.toml (ranges), constraints.txt (the resolved pins that
produced the README's numbers), environment.yml and the per-rule conda environments."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# conda name -> pip name where they differ: the GPU build of FAISS stands for the CPU wheel.
CONDA_TO_PIP = {"faiss-gpu": "faiss-cpu", "pytorch": "torch"}
CONDA_ONLY = {"python", "pip", "cuda-version"}
# The gpu extra is for GPU nodes: installed there, not on the CPU machine that pins the set.
UNPINNED_EXTRAS = {"gpu"}


def _name(text: str) -> str:
    return re.match(r"^\s*([A-Za-z0-9_.\-]+)", text).group(1).lower().replace("_", "-")


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[_name(name)] = version
    return pins


def _project_requirements(pinned_only: bool = False) -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for name, extra in project["optional-dependencies"].items():
        if not (pinned_only and name in UNPINNED_EXTRAS):
            requirements += extra
    return {_name(r): r for r in requirements}


def _conda_pins(path: Path) -> dict[str, str]:
    document = yaml.safe_load(path.read_text())
    pins = {}
    for entry in document["dependencies"]:
        if isinstance(entry, dict):  # the pip: section installs the project itself
            assert entry["pip"] == ["-e ."], path
            continue
        name, version = re.match(r"^([\w.-]+)\s*(.*)$", entry).groups()
        name = name.strip().lower()
        version = version.lstrip("=") if not version.startswith(">=") else version
        if name in CONDA_ONLY:
            continue
        assert version, f"{path.name}: {name} is not pinned"
        pins[CONDA_TO_PIP.get(name, name)] = version.lstrip("=")
    return pins


def test_every_requirement_is_pinned_and_its_pin_is_in_range():
    pins = _pins()
    for name, requirement in _project_requirements(pinned_only=True).items():
        assert name in pins, f"constraints.txt does not pin {name}"
        low = re.search(r">=\s*([0-9][0-9.]*)", requirement)
        if low:
            have = tuple(int(p) for p in re.findall(r"\d+", pins[name])[:3])
            need = tuple(int(p) for p in re.findall(r"\d+", low.group(1))[:3])
            assert have >= need, f"{name}: pinned {pins[name]} below {requirement}"


def test_environment_yml_pins_the_project_at_the_constraints():
    pins = _pins()
    conda = _conda_pins(ROOT / "environment.yml")
    requirements = _project_requirements()
    assert set(conda) == set(requirements) - {"faiss-gpu"}  # conda's faiss-gpu is faiss-cpu
    for name, version in conda.items():
        if name in pins:
            assert version == pins[name], (
                f"environment.yml: {name}={version}, constraints {pins[name]}"
            )
        else:  # the gpu extra: the same lower bound
            assert version.lstrip(">=") in requirements[name], f"environment.yml: {name}{version}"


def test_rule_environments_pin_the_constraints_versions():
    pins = _pins()
    envs = sorted((ROOT / "workflow" / "envs").glob("*.yaml"))
    assert envs
    for path in envs:
        for name, version in _conda_pins(path).items():
            assert name in pins, f"{path.name}: {name} is not in constraints.txt"
            assert version == pins[name], f"{path.name}: {name}={version}, constraints {pins[name]}"


def test_every_rule_names_an_existing_environment():
    rules = 0
    for path in (ROOT / "workflow" / "rules").rglob("*.smk"):
        text = path.read_text()
        for block in re.split(r"\n(?=rule )", text):
            if not block.startswith("rule ") or "script:" not in block:
                continue
            rules += 1
            match = re.search(r"conda:\s*\n\s*\"([^\"]+)\"", block)
            assert match, f"{path.name}: {block.splitlines()[0]} has no conda: environment"
            assert (path.parent / match.group(1)).resolve().is_file(), match.group(1)
    assert rules >= 10


def test_the_makefile_installs_with_the_constraints():
    makefile = (ROOT / "Makefile").read_text()
    assert "-c constraints.txt" in makefile


def test_the_slurm_profile_resources_are_the_measured_ones():
    """No guessed figure: set-resources is what tools/slurm_resources.py writes from measured."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "slurm_resources", ROOT / "tools/slurm_resources.py"
    )
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    text = tool.PROFILE.read_text()
    block = text[text.index(tool.BEGIN) : text.index(tool.END) + len(tool.END)]
    assert block == tool.profile_block(tool.read_measured(), tool.set_threads(text))
    measured = set(tool.read_measured())
    rules = set()
    for path in (ROOT / "workflow" / "rules").rglob("*.smk"):
        for block in re.split(r"\n(?=rule )", path.read_text()):
            if block.startswith("rule ") and "script:" in block:
                rules.add(block.split()[1].rstrip(":"))
    # Local rules (the downloads) run where Snakemake runs, never as SLURM jobs.
    snakefile = (ROOT / "Snakefile").read_text()
    local = set(re.findall(r"^    (\w+),$", snakefile.split("localrules:")[1], re.MULTILINE))
    assert {"download_mnist", "download_vgg16"} <= local
    assert rules - local <= measured, f"rules never measured: {sorted(rules - local - measured)}"
    profile = yaml.safe_load(text)
    assert set(profile["set-resources"]) == measured

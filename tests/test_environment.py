"""environment.yml (conda, GPU nodes) and pyproject.toml (the tested spec) agree."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# conda name -> pip name where they differ: the GPU build of FAISS stands for the CPU wheel.
CONDA_TO_PIP = {"faiss-gpu": "faiss-cpu"}
CONDA_ONLY = {"python", "pip"}


def _split(requirement: str) -> tuple[str, str]:
    match = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", requirement)
    assert match, requirement
    return match.group(1).lower(), match.group(2).replace(" ", "")


def test_environment_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pip_requirements = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        pip_requirements += extra
    pip_specs = dict(_split(requirement) for requirement in pip_requirements)

    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda_specs = {}
    for entry in environment["dependencies"]:
        if isinstance(entry, dict):  # the pip: section installs the project itself
            assert entry["pip"] == ["-e ."]
            continue
        name, spec = _split(
            entry.replace("=", "==", 1) if re.match(r"^[\w-]+=[^=]", entry) else entry
        )
        if name in CONDA_ONLY:
            continue
        conda_specs[CONDA_TO_PIP.get(name, name)] = spec

    assert conda_specs == pip_specs


def test_environment_has_the_gpu_and_cluster_packages():
    text = (ROOT / "environment.yml").read_text()
    for package in ("faiss-gpu", "snakemake-executor-plugin-slurm", "tensorflow", "h5py"):
        assert f"- {package}" in text

"""Runs the real Snakefile in a folder (a copy of .test/ or a test's own config): shared by the
end-to-end tests."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEST_CONFIG = ROOT / ".test" / "config"


def copy_test_config(folder: Path) -> Path:
    """A private copy of .test/config in ``folder`` (tests change it; .test stays as it is)."""
    shutil.copytree(TEST_CONFIG, folder / "config", dirs_exist_ok=True)
    return folder / "config" / "config.yaml"


def runner_environment() -> dict[str, str]:
    """The caller's environment with MNIST_MIRROR made absolute (jobs run elsewhere)."""
    environment = dict(os.environ)
    if environment.get("MNIST_MIRROR") and "://" not in environment["MNIST_MIRROR"]:
        environment["MNIST_MIRROR"] = str(Path(environment["MNIST_MIRROR"]).resolve())
    return environment


def run_snakemake(
    folder: Path,
    config: Path | None,
    *arguments: str,
    env: dict[str, str],
    timeout: float = 900,
) -> subprocess.CompletedProcess:
    """``snakemake --snakefile <repo>/Snakefile --directory folder [--configfile config] ...``.

    Without ``config``, the workflow reads ``folder/config/config.yaml`` as its default
    config file, exactly as ``snakemake --directory .test`` does.
    """
    command = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(ROOT / "Snakefile"),
        "--directory",
        str(folder),
        *(["--configfile", str(config)] if config is not None else []),
        *arguments,
    ]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)


def job_counts(output: str) -> dict[str, int]:
    """Snakemake's job table (``--dry-run --quiet rules``): jobs per rule, and ``total``."""
    counts: dict[str, int] = {}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            counts.setdefault(parts[0], int(parts[1]))
    return counts

"""Runs the real Snakefile on a config in a temporary folder: shared by the workflow tests."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_snakemake(
    folder: Path,
    config: Path,
    *arguments: str,
    env: dict[str, str],
    timeout: float = 900,
) -> subprocess.CompletedProcess:
    """``snakemake --snakefile <repo>/Snakefile --directory folder --configfile config ...``."""
    command = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(ROOT / "Snakefile"),
        "--directory",
        str(folder),
        "--configfile",
        str(config),
        *arguments,
    ]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)

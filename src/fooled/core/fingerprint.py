"""What decides a run's floating-point numbers besides its seeds: versions, processor, settings.

Two runs with equal fingerprints gave bit-identical numbers in every comparison made here
(README, "Reproducibility"); runs whose fingerprints differ are compared within tolerances.
"""

from __future__ import annotations

import os
import platform
from importlib import metadata


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _has_avx2() -> bool:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            return " avx2" in handle.read()
    except OSError:
        return False


def numerics_fingerprint() -> dict[str, str | bool]:
    """The package versions, processor and numerics settings that shape the numbers."""
    import fooled  # noqa: F401  (sets the instruction-set caps before anything reads them)

    versions = {}
    for package in ("tensorflow", "keras", "numpy", "scipy", "h5py", "faiss-cpu"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "absent"
    return {
        **versions,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu_model": _cpu_model(),
        "avx2": _has_avx2(),
        "ONEDNN_MAX_CPU_ISA": os.environ.get("ONEDNN_MAX_CPU_ISA", ""),
        "XLA_FLAGS": os.environ.get("XLA_FLAGS", ""),
        "TF_ENABLE_ONEDNN_OPTS": os.environ.get("TF_ENABLE_ONEDNN_OPTS", ""),
    }

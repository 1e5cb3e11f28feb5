"""What decides a run's floating-point numbers besides its seeds: versions, processor, kernels.

Two runs with equal fingerprints gave bit-identical numbers in every comparison made here
(README, "Reproducibility"); runs whose fingerprints differ are compared within tolerances.

The fingerprint names everything found to change bits:

- the package versions and the Python;
- the processor model and its instruction set, and the caps this package puts on the
  kernels TensorFlow picks (oneDNN, XLA; ``fooled/__init__.py``);
- every BLAS library loaded by NumPy, SciPy and FAISS, with the kernel it chose for this
  processor (OpenBLAS' ``architecture``: ``SkylakeX``, ``Haswell``, ``Zen``, ...; what
  ``OPENBLAS_CORETYPE`` says where a machine sets it, and an empty ``OPENBLAS_CORETYPE``
  is not the same as none: FAISS's OpenBLAS 0.3.15 then falls back to ``Prescott``) and
  its thread count, read with threadpoolctl. The same processor, packages and seeds under
  another kernel move some numbers in their last digits (README, "Reproducibility": the
  committed reference runs under two kernels, compared);
- ``OPENBLAS_L2_SIZE``, which changes the blocking of those kernels.
"""

from __future__ import annotations

import importlib
import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

# The packages whose versions shape the numbers; the modules whose import loads a BLAS.
PACKAGES = ("tensorflow", "keras", "numpy", "scipy", "h5py", "faiss-cpu")
BLAS_MODULES = ("numpy", "scipy.linalg", "faiss")
# Environment variables that change kernels or their blocking, recorded as they are set.
KERNEL_VARIABLES = ("ONEDNN_MAX_CPU_ISA", "XLA_FLAGS", "TF_ENABLE_ONEDNN_OPTS", "OPENBLAS_L2_SIZE")


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


def _package_of(filepath: str) -> str:
    """The wheel that ships a library: ``.../site-packages/numpy.libs/libscipy_openblas...``."""
    for part in reversed(Path(filepath).parts[:-1]):
        if part.endswith(".libs"):
            return part.removesuffix(".libs")
        if part in ("site-packages", "dist-packages", "lib"):
            break
    return "system"


def blas_kernels() -> list[dict[str, Any]]:
    """Each loaded BLAS: library, version, the kernel it chose and its threads (sorted).

    Imports NumPy, SciPy's linear algebra and FAISS first (whichever are installed), so
    every BLAS the studies use is loaded and described, whatever the caller imported.
    """
    for module in BLAS_MODULES:
        try:
            importlib.import_module(module)
        except ImportError:
            continue
    from threadpoolctl import threadpool_info

    kernels = []
    for library in threadpool_info():
        if library.get("user_api") != "blas":
            continue
        kernels.append(
            {
                "package": _package_of(str(library.get("filepath", ""))),
                "library": f"{library.get('internal_api')} {library.get('prefix')}",
                "version": str(library.get("version")),
                "architecture": str(library.get("architecture", "")),
                "threading_layer": str(library.get("threading_layer", "")),
                "threads": int(library.get("num_threads", 0)),
            }
        )
    return sorted(kernels, key=lambda kernel: (kernel["package"], kernel["library"]))


def numerics_fingerprint() -> dict[str, Any]:
    """The package versions, processor, kernels and numerics settings that shape the numbers."""
    import fooled  # noqa: F401  (sets the instruction-set caps before anything reads them)

    versions = {}
    for package in PACKAGES:
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
        "blas": blas_kernels(),
        **{name: os.environ.get(name, "") for name in KERNEL_VARIABLES},
    }


def differences(ours: dict[str, Any], reference: dict[str, Any]) -> list[str]:
    """The fingerprint entries that differ, one line each (empty: the same numerics)."""
    return [
        f"{key}: {ours.get(key, '<missing>')!r} here, {reference.get(key, '<missing>')!r} "
        "in the reference"
        for key in sorted(set(ours) | set(reference))
        if ours.get(key) != reference.get(key)
    ]

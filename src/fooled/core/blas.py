"""Run NumPy's and SciPy's OpenBLAS on one thread for a while, then restore the thread count.

On this project's 2-core machines, BLAS threads compete with TensorFlow's and
with the other jobs Snakemake runs side by side: measured, a batch of 180
complex 128 x 128 SVDs took 3.2 s of CPU with OpenBLAS' default threads and
0.28 s on one thread, and SciPy's L-BFGS-B iterations were 2-5x slower. The
``scipy_openblas`` libraries that NumPy and SciPy wheels load are found in
``/proc/self/maps`` and driven through their own ``set_num_threads``; where
none is loaded (another BLAS, another OS) nothing changes.
"""

from __future__ import annotations

import contextlib
import ctypes
from collections.abc import Callable, Iterator

_SUFFIXES = ("", "64_", "_64_")


def _openblas_controls() -> list[tuple[Callable[[int], None], int]]:
    """``(set_num_threads, current threads)`` of every loaded scipy_openblas library."""
    try:
        with open("/proc/self/maps", encoding="utf-8") as maps:
            paths = {line.split()[-1] for line in maps if "scipy_openblas" in line}
    except OSError:
        return []
    controls = []
    for path in sorted(paths):
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for suffix in _SUFFIXES:
            getter = getattr(library, f"scipy_openblas_get_num_threads{suffix}", None)
            setter = getattr(library, f"scipy_openblas_set_num_threads{suffix}", None)
            if getter is not None and setter is not None:
                controls.append((setter, int(getter())))
                break
    return controls


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """OpenBLAS on one thread inside the block (NumPy's and SciPy's copies alike)."""
    controls = _openblas_controls()
    for setter, _ in controls:
        setter(1)
    try:
        yield
    finally:
        for setter, threads in controls:
            setter(threads)

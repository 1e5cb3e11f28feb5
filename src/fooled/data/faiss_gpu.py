"""Can this FAISS build run on this GPU? A start-up check that answers in one line.

A FAISS GPU build carries machine code for a list of CUDA architectures (and
PTX for some, which the driver can compile for newer GPUs). A build without
either for the GPU at hand loads, counts the GPU, and then dies at its first
kernel: ``CUDA error 209 no kernel image is available for execution on the
device``, from a FAISS assertion that *aborts the process* (deep in IVF
k-means, in ``runL2Norm``). That is what the PyPI wheel ``faiss-gpu-cu12``
(sm_70 and sm_80 code only) does on Hopper GPUs (sm_90: H100, H200).

So before any GPU work a tiny GPU search runs in a *child process* (an abort
there cannot take the workflow with it), and the outcome is one of:

- ``ok``: the GPU search ran; the index goes to the GPU(s);
- ``cpu-build``: this FAISS has no GPU support; the CPU is used (said in one line);
- ``no-gpu``: the build has GPU support but sees no GPU; the CPU is used (one line);
- ``no-kernels``: the build cannot run on this GPU: :class:`FaissGpuError` with
  one line naming the FAISS build (version, distribution, the CUDA libraries it
  loads, the architectures it carries when ``cuobjdump`` can tell) and the GPU's
  compute capability;
- ``error``: the probe failed otherwise (the first line of its error is kept).

docs/patch_search.md lists which builds carry Hopper code.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field

LOGGER = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 300  # a first start may JIT-compile PTX for a new GPU: minutes, once
MISSING_KERNEL_PATTERNS = (
    r"no kernel image is available",
    r"CUDA error 209",
    r"cudaErrorNoKernelImageForDevice",
    r"invalid device function",  # CUDA error 98: the same cause on older toolkits
)

# Runs in a child process: prints one JSON line, or dies the way FAISS dies.
PROBE_SCRIPT = r"""
import json, sys
import numpy as np
import faiss
report = {"version": getattr(faiss, "__version__", "?"),
          "options": faiss.get_compile_options() if hasattr(faiss, "get_compile_options") else "",
          "library": getattr(getattr(faiss, "_swigfaiss", None), "__file__", "")}
gpu = hasattr(faiss, "StandardGpuResources")
report["gpu_build"] = gpu
report["n_gpus"] = int(faiss.get_num_gpus()) if gpu and hasattr(faiss, "get_num_gpus") else 0
try:
    maps = open("/proc/self/maps").read()
    report["cuda_libraries"] = sorted(set(
        name for name in (line.rsplit("/", 1)[-1] for line in maps.splitlines())
        if name.startswith(("libcudart.so", "libcublas.so", "libcublasLt.so"))))
except OSError:
    report["cuda_libraries"] = []
print("FAISS_PROBE " + json.dumps(report), flush=True)  # said before FAISS can abort
if gpu and report["n_gpus"] > 0:
    try:
        resources = faiss.StandardGpuResources()
        index = faiss.GpuIndexFlatL2(resources, 8)
        vectors = np.random.default_rng(0).random((64, 8), dtype=np.float32)
        index.add(vectors)
        _, ids = index.search(vectors[:4], 1)
        report["searched"] = ids.ravel().tolist() == [0, 1, 2, 3]
    except Exception as error:  # FAISS raises for some errors and aborts for others
        report["error"] = " ".join(str(error).split())[:400]
    print("FAISS_PROBE " + json.dumps(report), flush=True)
"""


class FaissGpuError(RuntimeError):
    """This FAISS build has no kernels for this GPU; the message is one line."""


@dataclass
class GpuInfo:
    """The first GPU: name and compute capability, from whichever library can tell."""

    name: str = "unknown GPU"
    capability: tuple[int, int] | None = None
    source: str = ""

    @property
    def sm(self) -> str:
        return f"sm_{self.capability[0]}{self.capability[1]}" if self.capability else "sm_?"

    def describe(self) -> str:
        if self.capability is None:
            return f"{self.name}, compute capability unknown"
        major, minor = self.capability
        return f"{self.name}, compute capability {major}.{minor} ({self.sm})"


@dataclass
class FaissGpuCheck:
    status: str  # ok | cpu-build | no-gpu | no-kernels | error
    message: str  # one line
    n_gpus: int = 0
    build: str = ""
    gpu: GpuInfo = field(default_factory=GpuInfo)

    @property
    def usable(self) -> bool:
        return self.status == "ok"


def gpu_info() -> GpuInfo:
    """Name and compute capability of GPU 0: PyTorch, CuPy or nvidia-smi, the first that answers."""
    try:
        import torch

        if torch.cuda.is_available() and torch.cuda.device_count() > 0:
            return GpuInfo(
                torch.cuda.get_device_name(0), tuple(torch.cuda.get_device_capability(0)), "torch"
            )
    except Exception:  # noqa: BLE001 - any failure just means "ask someone else"
        pass
    try:
        import cupy

        properties = cupy.cuda.runtime.getDeviceProperties(0)
        name = properties["name"]
        name = name.decode() if isinstance(name, bytes) else str(name)
        return GpuInfo(name, (int(properties["major"]), int(properties["minor"])), "cupy")
    except Exception:  # noqa: BLE001
        pass
    smi = shutil.which("nvidia-smi")
    if smi:
        try:
            out = (
                subprocess.run(
                    [smi, "--query-gpu=name,compute_cap", "--format=csv,noheader"],
                    capture_output=True,
                    text=True,
                    timeout=30,
                    check=False,
                )
                .stdout.strip()
                .splitlines()
            )
            if out:
                name, _, cap = out[0].rpartition(",")
                major, _, minor = cap.strip().partition(".")
                return GpuInfo(name.strip(), (int(major), int(minor or 0)), "nvidia-smi")
        except (OSError, ValueError, subprocess.SubprocessError):
            pass
    return GpuInfo()


def faiss_distribution() -> str:
    """The installed FAISS distribution(s), e.g. ``faiss-gpu-cu12 1.14.1`` (pip or conda)."""
    from importlib import metadata

    names = []
    for dist in metadata.distributions():
        name = (dist.metadata.get("Name") or "").lower()
        if name.startswith("faiss"):
            names.append(f"{name} {dist.version}")
    conda_meta = os.path.join(sys.prefix, "conda-meta")
    if os.path.isdir(conda_meta):
        for entry in sorted(os.listdir(conda_meta)):
            if entry.startswith(("faiss", "libfaiss")) and entry.endswith(".json"):
                names.append(f"conda {entry[:-5]}")  # name-version-build, the build names CUDA
    return ", ".join(sorted(set(names))) or "unknown distribution"


def cuda_architectures(library: str) -> list[str]:
    """The sm_XX machine code in a FAISS library, via ``cuobjdump`` where installed."""
    tool = shutil.which("cuobjdump")
    if not tool or not library or not os.path.isfile(library):
        return []
    folder = os.path.dirname(library)
    candidates = [library] + [
        os.path.join(root, name)
        for root, _, files in os.walk(os.path.join(folder, os.pardir))
        for name in files
        if name.startswith("libfaiss") and ".so" in name
    ][:8]
    found: set[str] = set()
    for path in candidates:
        try:
            out = subprocess.run(
                [tool, "--list-elf", path],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            ).stdout
        except (OSError, subprocess.SubprocessError):
            continue
        found.update(re.findall(r"sm_\d+a?", out))
    return sorted(found, key=lambda s: int(re.sub(r"\D", "", s)))


def describe_build(report: dict) -> str:
    """``FAISS 1.14.1 (faiss-gpu-cu12 1.14.1; loads libcudart.so.12, ...; code for ...)``."""
    parts = [faiss_distribution()]
    libraries = report.get("cuda_libraries") or []
    parts.append("loads " + ", ".join(libraries) if libraries else "CUDA libraries unknown")
    architectures = report.get("architectures") or []
    if architectures:
        parts.append("machine code for " + ", ".join(architectures))
    return f"FAISS {report.get('version', '?')} ({'; '.join(parts)})"


def missing_kernels(text: str) -> bool:
    """Whether an error text is the "no code for this GPU" failure."""
    return any(re.search(pattern, text, re.IGNORECASE) for pattern in MISSING_KERNEL_PATTERNS)


def no_kernels_message(build: str, gpu: GpuInfo) -> str:
    """The one line a run stops with when FAISS cannot run on the GPU."""
    return (
        f"{build} has no kernels for this GPU ({gpu.describe()}): install a FAISS build with "
        f"{gpu.sm} code (conda-forge faiss-gpu for CUDA 12 or 13, or PyPI faiss-gpu>=1.14.3; "
        "see docs/patch_search.md), set datasets.imagenet.index.use_gpu: false, or use "
        "index.mode: exact"
    )


def first_error_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in lines:
        if missing_kernels(line) or "error" in line.lower() or "assert" in line.lower():
            return line[:300]
    return lines[-1][:300] if lines else "no output"


def classify(returncode: int, stdout: str, stderr: str, gpu: GpuInfo) -> FaissGpuCheck:
    """Turn the probe's exit code and output into a :class:`FaissGpuCheck`."""
    report: dict = {}
    for line in stdout.splitlines():
        if line.startswith("FAISS_PROBE "):
            report = json.loads(line[len("FAISS_PROBE ") :])
    if report.get("library"):
        report["architectures"] = cuda_architectures(report["library"])
    build = describe_build(report) if report else f"FAISS ({faiss_distribution()})"
    text = "\n".join([stderr, report.get("error", "")])
    if missing_kernels(text):
        return FaissGpuCheck("no-kernels", no_kernels_message(build, gpu), 0, build, gpu)
    if not report:
        line = first_error_line(stderr or stdout)
        return FaissGpuCheck(
            "error", f"{build}: the GPU probe failed (exit {returncode}): {line}", 0, build, gpu
        )
    if not report.get("gpu_build"):
        return FaissGpuCheck(
            "cpu-build", f"{build} is a CPU-only build: the index stays on the CPU", 0, build, gpu
        )
    if int(report.get("n_gpus", 0)) == 0:
        return FaissGpuCheck(
            "no-gpu", f"{build} sees no GPU: the index stays on the CPU", 0, build, gpu
        )
    if report.get("error") or not report.get("searched"):
        line = report.get("error") or "the search returned wrong neighbours"
        return FaissGpuCheck(
            "error", f"{build}: a GPU search failed on {gpu.describe()}: {line}", 0, build, gpu
        )
    n = int(report["n_gpus"])
    return FaissGpuCheck("ok", f"{build}: GPU search runs on {gpu.describe()}", n, build, gpu)


def run_probe(
    script: str = PROBE_SCRIPT, python: str = sys.executable, timeout: float = PROBE_TIMEOUT_S
) -> tuple[int, str, str]:
    """Run the probe script in a child Python; (exit code, stdout, stderr)."""
    try:
        done = subprocess.run(
            [python, "-c", script], capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as error:
        return -1, str(error.stdout or ""), f"GPU probe timed out after {timeout:.0f} s"
    return done.returncode, done.stdout, done.stderr


def check_faiss_gpu(script: str = PROBE_SCRIPT, python: str = sys.executable) -> FaissGpuCheck:
    """Run a tiny FAISS GPU search in a child process and say what it means."""
    returncode, stdout, stderr = run_probe(script, python)
    gpu = GpuInfo() if '"n_gpus": 0' in stdout else gpu_info()  # no GPU: nothing to ask
    return classify(returncode, stdout, stderr, gpu)


@functools.cache
def cached_check() -> FaissGpuCheck:
    """One probe per process (the workflow asks before every index it moves to a GPU)."""
    return check_faiss_gpu()


def usable_gpus(use_gpu: str | bool, logger: logging.Logger = LOGGER) -> int:
    """GPUs FAISS may use: 0 (with one line saying why) or the GPUs the probe found working.

    ``use_gpu: false`` skips the probe. A build without kernels for the GPU
    raises :class:`FaissGpuError` (one line) whatever ``use_gpu`` says: a run that
    silently fell back to the CPU at 37M patches would take hours instead of
    minutes, which is worse than stopping with the fix named.
    """
    if use_gpu is False or use_gpu == "false":
        return 0
    check = cached_check()
    if check.status == "no-kernels":
        raise FaissGpuError(check.message)
    if check.status != "ok":
        if use_gpu is True or use_gpu == "true":
            raise FaissGpuError(f"imagenet.index.use_gpu is true but {check.message}")
        logger.info("%s", check.message)
        return 0
    logger.info("%s", check.message)
    return check.n_gpus

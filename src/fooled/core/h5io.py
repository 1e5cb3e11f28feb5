"""Atomic HDF5 artifacts with provenance.

Every stage writes its output under a temporary name in the same folder and
renames it into place only once the file is complete and closed, so a killed
job never leaves a file that a rerun (or Snakemake's mtime logic) would trust.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from fooled.core import integrity
from fooled.core.integrity import sha256_file


class ArtifactError(RuntimeError):
    """An input artifact is missing, truncated or not what the stage expects."""


def config_digest(settings: Any) -> str:
    """SHA-256 of a canonical JSON form, so equal settings give equal digests."""
    canonical = json.dumps(settings, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def library_versions() -> dict[str, str]:
    """Versions of what shapes the numbers; TensorFlow only if already imported."""
    versions = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "h5py": h5py.__version__,
        "hdf5": h5py.version.hdf5_version,
    }
    from fooled import __version__

    versions["fooled"] = __version__
    for module_name in ("tensorflow", "keras", "faiss", "scipy"):
        module = sys.modules.get(module_name)
        if module is not None and hasattr(module, "__version__"):
            versions[module_name] = str(module.__version__)
    return versions


def provenance(
    settings: Any,
    inputs: Mapping[str, str | os.PathLike[str]] | None = None,
    seeds: Mapping[str, int] | None = None,
) -> dict[str, str]:
    """Attributes every artifact carries: what made it, from what, with what."""
    attrs = {
        "config_digest": config_digest(settings),
        "config_json": json.dumps(settings, sort_keys=True, default=str),
        "library_versions": json.dumps(library_versions(), sort_keys=True),
        "seeds": json.dumps(dict(seeds or {}), sort_keys=True),
        "input_checksums": json.dumps(
            {name: sha256_file(path) for name, path in (inputs or {}).items()}, sort_keys=True
        ),
    }
    job_id = os.environ.get("SLURM_JOB_ID")
    if job_id:
        attrs["slurm_job_id"] = job_id
    return attrs


@contextlib.contextmanager
def atomic_h5(path: str | os.PathLike[str]) -> Iterator[h5py.File]:
    """Open ``path`` for writing through a temporary sibling; rename on success only."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    try:
        with h5py.File(temporary, "w", track_order=True) as handle:
            yield handle
        integrity.record(temporary, target)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary sibling path for writers that are not h5py (Keras, JSON, HTML)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.stem}.tmp-{os.getpid()}{target.suffix}")
    try:
        yield temporary
        integrity.record(temporary, target)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    with atomic_path(path) as temporary:
        temporary.write_text(text)


def set_attrs(node: h5py.Group | h5py.Dataset, attrs: Mapping[str, Any]) -> None:
    """Store attributes: None as an empty string, dicts and lists (but lists of numbers, which
    become numeric arrays) as JSON text; :func:`read_attrs` gives them back."""
    for key, value in attrs.items():
        if value is None:
            value = ""
        elif isinstance(value, dict | list | tuple) and not _is_numeric_sequence(value):
            value = json.dumps(value, sort_keys=True, default=str)
        node.attrs[key] = value


def _is_numeric_sequence(value: Any) -> bool:
    """A non-empty list of numbers (stored as an array; an empty list is JSON, so it reads back
    as a list)."""
    return (
        isinstance(value, list | tuple)
        and len(value) > 0
        and all(
            isinstance(item, int | float | np.number) and not isinstance(item, bool)
            for item in value
        )
    )


def write_datasets(
    handle: h5py.File | h5py.Group,
    arrays: Mapping[str, np.ndarray],
    compress_above: int = 4096,
) -> None:
    """Write arrays; large ones chunked and gzip-compressed (deterministic bytes)."""
    for name, array in arrays.items():
        array = np.asarray(array)
        if array.size >= compress_above and array.ndim > 0:
            handle.create_dataset(name, data=array, compression="gzip", compression_opts=4)
        else:
            handle.create_dataset(name, data=array)


def write_artifact(
    path: str | os.PathLike[str],
    datasets: Mapping[str, np.ndarray],
    provenance_attrs: Mapping[str, Any],
    attrs: Mapping[str, Any],
) -> None:
    """A stage's HDF5 output in one atomic write: its datasets, its provenance, its attributes.

    Every stage artifact has this layout (docs/artifacts.md); the stage's own
    attributes are set after the provenance, so they win where a key repeats.
    """
    with atomic_h5(path) as handle:
        write_datasets(handle, datasets)
        set_attrs(handle, provenance_attrs)
        set_attrs(handle, attrs)


def open_artifact(path: str | os.PathLike[str]) -> h5py.File:
    """Open a stage's HDF5 input, naming the file when it is missing or truncated."""
    try:
        return h5py.File(path, "r")
    except FileNotFoundError as error:
        raise ArtifactError(f"{path}: missing input artifact") from error
    except OSError as error:
        raise ArtifactError(
            f"{path}: not a readable HDF5 file (truncated or corrupt?); delete it and rerun "
            "the workflow to rebuild it"
        ) from error


def read_arrays(path: str | os.PathLike[str], names: list[str]) -> dict[str, np.ndarray]:
    """Read named datasets, failing with one line that names the file and dataset."""
    with open_artifact(path) as handle:
        arrays = {}
        for name in names:
            if name not in handle:
                raise ArtifactError(f"{path}: dataset '{name}' is missing")
            try:
                arrays[name] = handle[name][()]
            except OSError as error:
                raise ArtifactError(f"{path}: dataset '{name}' is unreadable ({error})") from error
        return arrays


def read_attrs(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The file's attributes as :func:`set_attrs` was given them (:func:`decode_attr`)."""
    with open_artifact(path) as handle:
        return {key: decode_attr(value) for key, value in handle.attrs.items()}


def decode_attr(value: Any) -> Any:
    """One stored attribute as Python data: the inverse of :func:`set_attrs`.

    NumPy scalars become Python numbers, bytes text; the empty text that stands for None
    becomes None, and text holding a JSON object or array (what ``set_attrs`` made of a dict
    or a list, and the provenance's JSON) is decoded. Numeric arrays stay NumPy arrays.
    """
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, str):
        if not value:
            return None
        if value[0] in "[{":
            try:
                return json.loads(value)
            except json.JSONDecodeError:
                return value
    return value

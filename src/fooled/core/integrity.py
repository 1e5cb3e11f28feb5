"""Recorded checksums of artifacts, and the rebuild of those that are damaged.

Every artifact the workflow writes (through :mod:`fooled.core.h5io`) gets a
small record beside it, ``.<name>.sha256``: its SHA-256, size and mtime at
the moment it was renamed into place. A file truncated or overwritten later
no longer matches its record.

When the workflow starts, :func:`survey` finds what is damaged, reading only:

- an artifact that no longer matches its record;
- an HDF5 or Keras file with no record (deleted, or made by an older version)
  that does not open: truncated, overwritten, not the format its name says;
- an artifact moved aside earlier (``<name>.damaged`` beside it) and not made
  again since, because the run that moved it stopped first (a failure, a
  kill, Ctrl-C): the moved copy *is* the memory, so nothing is forgotten.

:func:`repair` then moves each damaged file aside and names it as a target, so
Snakemake reruns the job that makes it and, since its output is new, every
job after it. It runs while Snakemake builds the DAG (an input function of the
target rules), where a dry run is known: a dry run moves nothing and says what
a run will do. Without this, every job reading a damaged file fails on it, and
Snakemake deletes that job's good outputs as it fails, run after run.

The check costs a ``stat`` per recorded artifact; the SHA-256 is recomputed
only when size or mtime changed (a ``touch`` refreshes the record when the
bytes are the same).
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SUFFIX = ".sha256"
MOVED = ".damaged"
# Formats a file can be checked in without a record: opening them reads their structure.
READABLE_SUFFIXES = (".h5", ".keras")


def sha256_file(path: str | os.PathLike[str], chunk_bytes: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk_bytes):
            digest.update(block)
    return digest.hexdigest()


def record_path(path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    return path.with_name(f".{path.name}{SUFFIX}")


def moved_path(path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    return path.with_name(path.name + MOVED)


def _stat(path: Path) -> dict[str, int]:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def record(path: str | os.PathLike[str], final: str | os.PathLike[str] | None = None) -> None:
    """Write the record of ``path``, kept beside ``final`` (where it is about to be renamed).

    Writers record the finished temporary file before renaming it into place (a rename keeps
    size and mtime), so a record never describes an older file than the one beside it.
    """
    path = Path(path)
    if not path.is_file():
        return
    entry = {"sha256": sha256_file(path), **_stat(path)}
    target = record_path(final if final is not None else path)
    temporary = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    temporary.write_text(json.dumps(entry) + "\n")
    os.replace(temporary, target)


def check(path: str | os.PathLike[str], refresh: bool = True) -> str | None:
    """Why ``path`` no longer matches its record, or None (also when it has no record).

    Same bytes with a new mtime (Snakemake touches every output once its job ends; a user's
    ``touch``) is no damage; ``refresh`` then brings the record up to date, so the SHA-256
    is not computed again at the next start.
    """
    path = Path(path)
    try:
        entry: dict[str, Any] = json.loads(record_path(path).read_text())
    except (OSError, ValueError):
        return None
    if not path.is_file():
        return None
    now = _stat(path)
    if now["size"] == entry.get("size") and now["mtime_ns"] == entry.get("mtime_ns"):
        return None
    if now["size"] != entry.get("size"):
        return f"{now['size']:,} bytes where {entry.get('size', 0):,} were written"
    if sha256_file(path) != entry.get("sha256"):
        return "its SHA-256 differs from the one recorded when it was written"
    if refresh:
        record(path)
    return None


def touched(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` has a record whose size matches and whose mtime does not."""
    path = Path(path)
    try:
        entry = json.loads(record_path(path).read_text())
        now = _stat(path)
    except (OSError, ValueError):
        return False
    return now["size"] == entry.get("size") and now["mtime_ns"] != entry.get("mtime_ns")


def unreadable(path: str | os.PathLike[str]) -> str | None:
    """Why an HDF5 or Keras file does not open, or None (also for other formats)."""
    path = Path(path)
    if path.suffix == ".h5":
        import h5py

        try:
            with h5py.File(path, "r"):
                return None
        except (OSError, ValueError) as error:
            return f"not a readable HDF5 file ({' '.join(str(error).split())[:120]})"
    if path.suffix == ".keras":
        try:
            with zipfile.ZipFile(path) as archive:
                names = set(archive.namelist())
        except (OSError, zipfile.BadZipFile, ValueError) as error:
            return f"not a readable Keras file ({error})"
        if "config.json" not in names:
            return "not a readable Keras file (no config.json inside)"
    return None


@dataclass(frozen=True)
class Damage:
    """A damaged (or moved aside, not yet rebuilt) artifact and why."""

    path: Path
    reason: str

    @property
    def moved(self) -> bool:
        """Already moved aside by an earlier run: only its rebuild is pending."""
        return not self.path.exists() and moved_path(self.path).exists()


@dataclass
class Survey:
    """What :func:`survey` found: damaged artifacts, and intact ones whose record is stale."""

    damaged: list[Damage]
    touched: list[Path]


def survey(folders: Iterable[str | os.PathLike[str]]) -> Survey:
    """Every damaged artifact under ``folders``; changes nothing on disk (a dry run may call it).

    Temporaries and records (names starting with a dot) are not artifacts.
    """
    found, stale = [], []
    for folder in folders:
        for directory, _, names in sorted(os.walk(folder)):
            present = set(names)
            for name in sorted(names):
                if name.startswith("."):
                    continue
                path = Path(directory) / name
                if name.endswith(MOVED):
                    artifact = path.with_name(name[: -len(MOVED)])
                    if artifact.name not in present:
                        found.append(
                            Damage(
                                artifact,
                                "moved aside by an earlier run that stopped before making it again",
                            )
                        )
                    continue
                if record_path(path).name in present:
                    was_touched = touched(path)
                    reason = check(path, refresh=False)
                elif path.suffix in READABLE_SUFFIXES:
                    was_touched, reason = False, unreadable(path)
                else:
                    continue
                if reason is not None:
                    found.append(Damage(path, reason))
                elif was_touched:
                    stale.append(path)
    return Survey(found, stale)


def repair(
    found: Survey,
    *,
    dry_run: bool,
    producible: Callable[[Path], bool],
    log: Callable[[str], Any] = print,
) -> list[str]:
    """Move each damaged artifact aside (``<name>.damaged``) and return the ones to rebuild.

    A dry run moves nothing and returns only those already moved (missing files, which the
    dry run then shows being made again). A file no rule of the current configuration makes
    is left as it is. A run (not a dry one) also brings the records of touched files up to
    date.
    """
    if not dry_run:
        for path in found.touched:
            check(path, refresh=True)
    targets = []
    for damage in found.damaged:
        path = damage.path
        if not producible(path):
            log(
                f"{path}: damaged ({damage.reason}); no rule of this configuration makes it, "
                "left as it is"
            )
            continue
        if damage.moved:
            log(f"{path}: {damage.reason}; it and what depends on it will be made again")
            targets.append(str(path))
            continue
        if dry_run:
            log(
                f"{path}: damaged ({damage.reason}); a run (not a dry run) moves it to "
                f"{moved_path(path).name} and makes it and what depends on it again"
            )
            continue
        os.replace(path, moved_path(path))
        record_path(path).unlink(missing_ok=True)
        log(
            f"{path}: damaged ({damage.reason}); moved to {moved_path(path).name}, "
            "it and what depends on it will be made again"
        )
        targets.append(str(path))
    return targets

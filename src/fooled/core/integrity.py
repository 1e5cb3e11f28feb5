"""Recorded checksums of artifacts, and the rebuild of those that no longer match them.

Every artifact the workflow writes (through :mod:`fooled.core.h5io`) gets a
small record beside it, ``.<name>.sha256``: its SHA-256, size and mtime at
the moment it was renamed into place. A file truncated or overwritten later
no longer matches its record. When the workflow starts, :func:`rebuild_damaged`
finds such files and moves each aside (``<name>.damaged``), with one line
naming it, so Snakemake reruns the job that made it instead of every later
job failing on it forever (and deleting its own good output as it fails).

The check costs a ``stat`` per artifact; the SHA-256 is recomputed only when
size or mtime changed (a ``touch`` refreshes the record when the bytes are
the same).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

SUFFIX = ".sha256"


def sha256_file(path: str | os.PathLike[str], chunk_bytes: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk_bytes):
            digest.update(block)
    return digest.hexdigest()


def record_path(path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    return path.with_name(f".{path.name}{SUFFIX}")


def artifact_of(record: Path) -> Path:
    return record.with_name(record.name[1 : -len(SUFFIX)])


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


def check(path: str | os.PathLike[str]) -> str | None:
    """Why ``path`` no longer matches its record, or None (also when it has no record)."""
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
    record(path)  # same bytes, new mtime (touched): keep the record current
    return None


def rebuild_damaged(
    folders: Iterable[str | os.PathLike[str]], log: Callable[[str], Any] = print
) -> list[Path]:
    """Move aside every artifact under ``folders`` whose record shows it damaged.

    Returns their paths: the workflow adds them to its targets, because Snakemake does not
    remake a missing intermediate file on its own when the files after it exist.
    """
    moved = []
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir():
            continue
        for entry in sorted(folder.rglob(f".*{SUFFIX}")):
            artifact = artifact_of(entry)
            if not artifact.exists():  # a failed or removed job's output: a stale record
                entry.unlink(missing_ok=True)
                continue
            reason = check(artifact)
            if reason is None:
                continue
            damaged = artifact.with_name(artifact.name + ".damaged")
            os.replace(artifact, damaged)
            entry.unlink(missing_ok=True)
            log(
                f"{artifact}: damaged ({reason}); moved to {damaged.name}, "
                "the job that makes it will run again"
            )
            moved.append(artifact)
    return moved

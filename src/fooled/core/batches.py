"""Several experiments computed in one job, then each one's files copied into place.

A batch rule runs several experiments (or models) in one process, starting TensorFlow and
compiling its graphs once, and writes their files below its output folder, laid out as
the study's layout puts them (``layout.under(folder)``); a copy rule (one job per
experiment, no TensorFlow) copies one experiment's files to where every other rule reads
them. So the files and their paths are what they were with one job per experiment.

The copy is a script, not a ``run:`` block: Snakemake runs a ``run:`` job by starting
another Snakemake, which parses the whole workflow again (about 5 s a job here, more than
the copy saves); a script job starts in about 0.2 s (its log says).
"""

from __future__ import annotations

import shutil
from collections.abc import Hashable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

from fooled.core.layout import Layout

Member = TypeVar("Member", bound=Hashable)


def split(members: Sequence[Member], size: int, prefix: str) -> dict[str, list[Member]]:
    """``members`` in jobs of ``size``, in order, named ``<prefix>0``, ``<prefix>1``, ..."""
    return {
        f"{prefix}{start // size}": list(members[start : start + size])
        for start in range(0, len(members), size)
    }


def owners(batches: Mapping[str, Sequence[Member]]) -> dict[Member, str]:
    """Each member's job, from :func:`split`."""
    return {member: batch for batch, members in batches.items() for member in members}


def place(
    layout: Layout,
    batch: str,
    artifacts: Iterable[str],
    wildcards: Mapping[str, str],
    outputs: Mapping[str, str],
    batch_rule: str,
) -> None:
    """Copy one experiment's ``artifacts`` (its ``wildcards``) out of the ``batch`` folder to
    ``outputs`` (keyed by artifact), each checked and written atomically.

    A damaged copy in the batch folder is one line naming it and the remedy: it would
    otherwise be copied into place and found damaged there, again and again.
    """
    # Here, not at the top: the layouts import this module's split and owners while
    # Snakemake parses the workflow, which needs no HDF5.
    from fooled.core import h5io, integrity

    files = layout.under(batch)
    for artifact in artifacts:
        source = Path(files.path(artifact, **wildcards))
        if not source.is_file():
            raise h5io.ArtifactError(
                f"{source}: missing from its batch; rerun with --forcerun {batch_rule}"
            )
        damage = integrity.check(source) or integrity.unreadable(source)
        if damage:
            raise h5io.ArtifactError(
                f"{source}: damaged ({damage}); rerun with --forcerun {batch_rule}"
            )
        with h5io.atomic_path(outputs[artifact]) as temporary:
            shutil.copyfile(source, temporary)

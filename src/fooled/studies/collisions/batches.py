"""Micro experiments computed in one job, then each experiment's files copied into place.

Rule ``collide_micro_batch`` runs several micro experiments in one process (starting
TensorFlow once) and writes their files below its output folder, laid out as the study's
layout puts them; rule ``collide_micro`` (one per experiment, no TensorFlow) copies one
experiment's files to where every other rule reads them. So the files and their paths are
what they were with one job per experiment.

The copy is a script, not a ``run:`` block: Snakemake runs a ``run:`` job by starting
another Snakemake, which parses the whole workflow again (about 5 s a job here, more than
the copy saves); a script job starts in about 0.2 s (its log says).
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Mapping
from pathlib import Path

from fooled.core import h5io, integrity
from fooled.core.stage import Job
from fooled.studies.collisions.layout import MNIST_LAYOUT

MICRO_FILES = ("collide", "interpolate", "polytope")


def place(batch: str, experiment: str, outputs: Mapping[str, str]) -> None:
    """Copy one experiment's files out of its batch folder (each checked, written atomically).

    A damaged copy in the batch folder is one line naming it and the remedy: it would
    otherwise be copied into place and found damaged there, again and again.
    """
    files = MNIST_LAYOUT.under(batch)
    for artifact in MICRO_FILES:
        source = Path(files.path(artifact, experiment=experiment))
        if not source.is_file():
            raise h5io.ArtifactError(
                f"{source}: missing from its batch; rerun with --forcerun collide_micro_batch"
            )
        damage = integrity.check(source) or integrity.unreadable(source)
        if damage:
            raise h5io.ArtifactError(
                f"{source}: damaged ({damage}); rerun with --forcerun collide_micro_batch"
            )
        with h5io.atomic_path(outputs[artifact]) as temporary:
            shutil.copyfile(source, temporary)


def collide_micro(job: Job, logger: logging.Logger) -> None:
    """Rule ``collide_micro``: the experiment's files out of ``input.batch`` into place."""
    place(job.input.batch, job.wildcards.experiment, job.output)

"""Micro experiments computed in one job, then each experiment's files copied into place.

Rule ``collide_micro_batch`` runs several micro experiments in one process and writes their
files below its output folder; rule ``collide_micro`` (one per experiment, no TensorFlow)
copies one experiment's files to where every other rule reads them (``fooled.core.batches``
says why a script does it).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from fooled.core import batches
from fooled.core.stage import Job
from fooled.studies.collisions.layout import MNIST_LAYOUT

MICRO_FILES = ("collide", "interpolate", "polytope")


def place(batch: str, experiment: str, outputs: Mapping[str, str]) -> None:
    """Copy one experiment's files out of its batch folder (``fooled.core.batches.place``)."""
    batches.place(
        MNIST_LAYOUT,
        batch,
        MICRO_FILES,
        {"experiment": experiment},
        outputs,
        "collide_micro_batch",
    )


def collide_micro(job: Job, logger: logging.Logger) -> None:
    """Rule ``collide_micro``: the experiment's files out of ``input.batch`` into place."""
    place(job.input.batch, job.wildcards.experiment, job.output)

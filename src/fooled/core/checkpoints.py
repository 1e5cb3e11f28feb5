"""Checkpoint files of resumable attacks, written and read by the stages (attacks do no I/O).

A resumable attack (:class:`fooled.attacks.base.ResumableAttack`) hands its
state to the stage's ``on_checkpoint`` every ``checkpoint_every`` steps and
continues from a state given as ``resume``; a state turns into named arrays
and attributes and back (:class:`fooled.attacks.base.AttackState`). A
:class:`CheckpointFile` stores it as an HDF5 artifact (atomic, with
provenance) under the key of the job's settings and input bytes, so a state
is resumed only by a job of the same settings and inputs; any other file
there (other settings, unreadable) is set aside with one log line and the
run starts afresh. Every stage with a resumable attack uses it the same way::

    checkpoint = CheckpointFile.for_job(path, settings, inputs, seeds, logger)
    with Progress(...) as progress:
        result = checkpoint.run(attack, model, inputs, targets, progress)
    ...  # write the result
    checkpoint.remove()
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from fooled.core import h5io

LOGGER = logging.getLogger(__name__)
State = TypeVar("State")


def resume_key(settings: Any, inputs: Mapping[str, str | os.PathLike[str]]) -> str:
    """What a checkpoint must match to be resumed: the settings and the inputs' bytes."""
    checksums = {name: h5io.sha256_file(path) for name, path in inputs.items()}
    return h5io.config_digest({"settings": settings, "inputs": checksums})


def read_all(path: str | os.PathLike[str]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Every dataset (by its full name) and the attributes of an HDF5 file."""
    arrays: dict[str, np.ndarray] = {}
    with h5io.open_artifact(path) as handle:

        def visit(name: str, node: Any) -> None:
            if hasattr(node, "shape"):
                arrays[name] = node[()]

        handle.visititems(visit)
    return arrays, h5io.read_attrs(path)


@dataclass(frozen=True)
class CheckpointFile:
    """Where a job keeps its attack's state, and the key a state there must carry."""

    path: Path
    key: str
    settings: Any
    inputs: Mapping[str, str | os.PathLike[str]]
    seeds: Mapping[str, int] | None = None
    logger: logging.Logger = LOGGER

    @classmethod
    def for_job(
        cls,
        path: str | os.PathLike[str],
        settings: Any,
        inputs: Mapping[str, str | os.PathLike[str]],
        seeds: Mapping[str, int] | None = None,
        logger: logging.Logger = LOGGER,
    ) -> CheckpointFile:
        """The checkpoint of a job of ``settings`` reading ``inputs`` (keyed by both)."""
        return cls(Path(path), resume_key(settings, inputs), settings, inputs, seeds, logger)

    def load(self, state_type: type[State]) -> State | None:
        """The state in the file if it was made by these settings and inputs, else None."""
        if not self.path.exists():
            return None
        try:
            arrays, attrs = read_all(self.path)
            if attrs.get("resume_key") != self.key:
                self.logger.info(
                    "%s: checkpoint of other settings or inputs; starting afresh", self.path
                )
                return None
            state = state_type.from_arrays(arrays, attrs)
        except (h5io.ArtifactError, KeyError, ValueError, OSError) as error:
            self.logger.warning("%s: unreadable checkpoint (%s); starting afresh", self.path, error)
            return None
        self.logger.info("resuming from %s after %d steps", self.path, state.completed)
        return state

    def save(self, state: Any) -> None:
        """Write ``state`` (atomically: a kill mid-write leaves the previous checkpoint)."""
        h5io.write_artifact(
            self.path,
            state.arrays(),
            h5io.provenance(self.settings, self.inputs, self.seeds),
            state.attrs() | {"resume_key": self.key},
        )
        self.logger.info("checkpoint after %d steps written to %s", state.completed, self.path)

    def run(self, attack: Any, model: Any, inputs: Any, targets: Any, progress: Any = None) -> Any:
        """``attack.run(model, inputs, targets)``, resumed from this file when it holds the
        job's state (of type ``attack.State``) and saving the state here at every checkpoint."""
        return attack.run(
            model,
            inputs,
            targets,
            resume=self.load(attack.State),
            on_checkpoint=self.save,
            progress=progress,
        )

    def remove(self) -> None:
        """Delete the file once the job's result is written."""
        self.path.unlink(missing_ok=True)

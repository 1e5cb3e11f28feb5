"""The contract every attack keeps (documented in :mod:`fooled.attacks` and docs/architecture.md).

An attack is an object configured once and applied with one method:

- **Construction** takes everything that is not the data: its settings (a
  frozen dataclass built from the config), the pixel range where it has one,
  and the optional ``penalty``, a per-image TensorFlow callable whose weighted
  value the attack adds to what it minimises (an autoencoder's reconstruction
  error, so that the inputs also evade a detector). Nothing about the penalty
  is an argument of ``run``.
- ``run(model, inputs, targets)`` takes a :class:`fooled.models.handle.ModelHandle`
  (never a bare Keras model or a wrapper of one), what the attack starts from
  (``inputs``) and what it aims at (``targets``), and returns one dataclass,
  the attack's own result type, which records at least ``seconds``.
- A **resumable** attack (long runs: MAP-Elites, the macro composites) also
  takes, keyword-only, ``resume`` (a state to continue from), ``on_checkpoint``
  (called with the state every ``settings.checkpoint_every`` steps) and
  ``progress`` (a :class:`fooled.core.progress.Progress`). A run resumed from
  a state gives the same bits as one never interrupted. Its state turns into
  named arrays and attributes and back (:class:`AttackState`), which is all a
  stage needs to write and read a checkpoint file (:mod:`fooled.core.checkpoints`).
- An attack never reads or writes files: the stages do (``tests/test_attacks.py``
  checks both this and the signatures).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

if TYPE_CHECKING:  # the contract is importable without TensorFlow
    import numpy as np
    import tensorflow as tf

    from fooled.core.progress import Progress
    from fooled.models.handle import ModelHandle

# A per-image penalty: a float32 batch (pixel scale, any shape, batch first) -> one value per image.
Penalty = Callable[["tf.Tensor"], "tf.Tensor"]
# The keyword-only arguments of a resumable attack's ``run``, besides ``model, inputs, targets``.
RESUME_ARGUMENTS = ("resume", "on_checkpoint", "progress")


def checkpoint_due(
    on_checkpoint: Callable[..., None] | None, done: int, every: int, total: int
) -> bool:
    """Whether a resumable attack hands its state over after ``done`` of ``total`` steps:
    every ``every`` steps (0: never) when the caller asked for it, never after the last."""
    return on_checkpoint is not None and bool(every) and done % every == 0 and done < total


@runtime_checkable
class AttackResult(Protocol):
    """What every result records besides its own fields."""

    seconds: float


@runtime_checkable
class Attack(Protocol):
    """An attack configured once (``settings``) with one ``run``."""

    settings: Any

    def run(self, model: ModelHandle, inputs: Any, targets: Any) -> AttackResult: ...


@runtime_checkable
class AttackState(Protocol):
    """A resumable attack's complete state after ``completed`` steps (a checkpoint's content)."""

    @property
    def completed(self) -> int: ...

    def arrays(self) -> dict[str, np.ndarray]: ...

    def attrs(self) -> dict[str, Any]: ...

    @classmethod
    def from_arrays(
        cls, arrays: Mapping[str, np.ndarray], attrs: Mapping[str, Any]
    ) -> AttackState: ...


class ResumableAttack(Attack, Protocol):
    """An attack whose run can be checkpointed by its caller and resumed.

    ``State`` is the type of its state (what ``resume`` and ``on_checkpoint`` carry).
    """

    State: ClassVar[type[AttackState]]

    def run(
        self,
        model: ModelHandle,
        inputs: Any,
        targets: Any,
        *,
        resume: AttackState | None = None,
        on_checkpoint: Callable[[AttackState], None] | None = None,
        progress: Progress | None = None,
    ) -> AttackResult: ...

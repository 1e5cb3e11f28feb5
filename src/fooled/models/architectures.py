"""The MNIST architectures of Szegedy et al. by name, read without Keras (config checks).

``fc10`` (a softmax on the pixels), ``fcA-B-...-10`` (sigmoid hidden layers),
``aeH-10`` (an autoencoder's H sigmoid features, then a softmax),
``reluA-B-10`` (the project's ReLU MLP); :mod:`fooled.models.mnist_zoo`
builds and trains them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

N_CLASSES = 10
_FC = re.compile(r"^fc(\d+(?:-\d+)*)$")
_AE = re.compile(r"^ae(\d+)-10$")
_RELU = re.compile(r"^relu(\d+(?:-\d+)*)-10$")


@dataclass(frozen=True)
class Architecture:
    """What an architecture name means: its kind, hidden sizes and hidden activation."""

    name: str
    kind: str  # "fc" (sigmoid MLP or plain softmax), "ae" or "relu"
    hidden: tuple[int, ...]

    @property
    def n_dense(self) -> int:
        """Dense layers that carry a weight decay (the hidden ones and the logits)."""
        return len(self.hidden) + 1

    @property
    def hidden_layers(self) -> list[str]:
        """Names of the layers whose outputs are the hidden representations (after activation)."""
        if self.kind == "relu":
            return [f"fc{depth}_relu" for depth in range(1, len(self.hidden) + 1)]
        return [f"fc{depth}" for depth in range(1, len(self.hidden) + 1)]

    @property
    def hidden_activation(self) -> str | None:
        if not self.hidden:
            return None
        return "relu" if self.kind == "relu" else "sigmoid"


def parse_architecture(name: str) -> Architecture:
    """``fc10``, ``fc100-100-10``, ``ae400-10``, ``relu256-256-10`` (one-line error otherwise)."""
    match = _FC.match(name)
    if match:
        sizes = tuple(int(size) for size in match.group(1).split("-"))
        if sizes[-1] != N_CLASSES:
            raise ValueError(f"architecture '{name}': the last layer must have 10 units")
        return Architecture(name, "fc", sizes[:-1])
    match = _AE.match(name)
    if match:
        return Architecture(name, "ae", (int(match.group(1)),))
    match = _RELU.match(name)
    if match:
        return Architecture(name, "relu", tuple(int(s) for s in match.group(1).split("-")))
    raise ValueError(
        f"architecture '{name}' is not one of fc10, fcA-B-...-10 (sigmoid), ae<H>-10, "
        "relu<A>-<B>-10"
    )


def decay_per_layer(architecture: Architecture, weight_decay: float | Sequence[float]) -> list:
    """One decay per Dense layer: a number applies to all, a list names each in order."""
    if isinstance(weight_decay, int | float):
        return [float(weight_decay)] * architecture.n_dense
    decays = [float(value) for value in weight_decay]
    if len(decays) != architecture.n_dense:
        raise ValueError(
            f"architecture '{architecture.name}' has {architecture.n_dense} Dense layers but "
            f"weight_decay lists {len(decays)} values"
        )
    return decays

"""Units versus random directions (Szegedy et al., section 3), as a number instead of pictures.

The paper shows, for a hidden layer ``phi``, the test images that maximise
``<phi(x), e_i>`` (one unit) and those that maximise ``<phi(x), v>`` (a
random direction), and finds them equally "semantically coherent". We
measure coherence as the **label purity** of the top-``k`` images: the share
of them that carry their most common label. Over many units and as many
random directions (Gaussian, normalised) of the same layer, a two-sided
**permutation test** on the difference of the mean purities asks whether units
are more coherent than directions; the paper's claim is that they are not
(a large p-value). The purity of ``k`` random test images is the chance level.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def top_k_purity(scores: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Per column of ``scores`` (images x units): the majority label's share in its top k."""
    scores = np.asarray(scores, np.float64)
    labels = np.asarray(labels, np.int64)
    if scores.ndim != 2 or len(scores) != len(labels):
        raise ValueError(f"scores {scores.shape} and labels {labels.shape} do not match")
    if not 1 <= k <= len(labels):
        raise ValueError(f"k must lie in 1..{len(labels)}, got {k}")
    top = np.argpartition(-scores, k - 1, axis=0)[:k]  # (k, units), order within irrelevant
    top_labels = labels[top]
    n_classes = int(labels.max()) + 1
    counts = np.zeros((scores.shape[1], n_classes), np.int64)
    for column in range(scores.shape[1]):
        counts[column] = np.bincount(top_labels[:, column], minlength=n_classes)
    return counts.max(axis=1) / k


def permutation_test(
    first: np.ndarray, second: np.ndarray, n_permutations: int, rng: np.random.Generator
) -> float:
    """Two-sided p-value of ``mean(first) - mean(second)`` under exchangeable groups.

    ``(1 + #{|permuted statistic| >= |observed|}) / (1 + n_permutations)``: never 0.
    """
    first = np.asarray(first, np.float64)
    second = np.asarray(second, np.float64)
    pooled = np.concatenate([first, second])
    observed = abs(first.mean() - second.mean())
    n_first = len(first)
    exceed = 0
    chunk = 1000
    for begin in range(0, n_permutations, chunk):
        size = min(chunk, n_permutations - begin)
        order = rng.permuted(np.tile(np.arange(len(pooled)), (size, 1)), axis=1)
        shuffled = pooled[order]
        statistic = np.abs(shuffled[:, :n_first].mean(axis=1) - shuffled[:, n_first:].mean(axis=1))
        exceed += int((statistic >= observed - 1e-12).sum())
    return (1 + exceed) / (1 + n_permutations)


def chance_purity(labels: np.ndarray, k: int, n_draws: int, rng: np.random.Generator) -> float:
    """Mean purity of ``k`` images drawn at random (what a meaningless direction gets)."""
    labels = np.asarray(labels, np.int64)
    n_classes = int(labels.max()) + 1
    purities = [
        np.bincount(
            labels[rng.choice(len(labels), size=k, replace=False)], minlength=n_classes
        ).max()
        / k
        for _ in range(n_draws)
    ]
    return float(np.mean(purities))


@dataclass
class UnitsResult:
    """Purity of each unit's and each direction's top-k images, and the test."""

    units: np.ndarray  # indices of the units analysed
    purity_units: np.ndarray
    purity_directions: np.ndarray
    p_value: float
    chance: float
    k: int

    def summary(self) -> dict[str, float]:
        return {
            "n_units": int(len(self.purity_units)),
            "n_directions": int(len(self.purity_directions)),
            "k": self.k,
            "purity_units_mean": float(self.purity_units.mean()),
            "purity_directions_mean": float(self.purity_directions.mean()),
            "difference": float(self.purity_units.mean() - self.purity_directions.mean()),
            "p_value": float(self.p_value),
            "chance": float(self.chance),
        }


def units_versus_directions(
    activations: np.ndarray,
    labels: np.ndarray,
    *,
    n_units: int,
    n_directions: int,
    k: int,
    n_permutations: int,
    seed: int,
) -> UnitsResult:
    """Top-k purity of ``n_units`` units (all if the layer has fewer) and random directions."""
    activations = np.asarray(activations, np.float64)
    width = activations.shape[1]
    rng = np.random.default_rng(seed)
    units = np.sort(rng.choice(width, size=min(n_units, width), replace=False))
    directions = rng.standard_normal((width, n_directions))
    directions /= np.linalg.norm(directions, axis=0, keepdims=True)
    purity_units = top_k_purity(activations[:, units], labels, k)
    purity_directions = top_k_purity(activations @ directions, labels, k)
    return UnitsResult(
        units=units,
        purity_units=purity_units,
        purity_directions=purity_directions,
        p_value=permutation_test(purity_units, purity_directions, n_permutations, rng),
        chance=chance_purity(labels, k, 2000, rng),
        k=k,
    )

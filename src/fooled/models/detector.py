"""How well a score separates clean images from others: ROC-AUC, thresholds, detection rates.

A higher score means "more suspicious" (an autoencoder's reconstruction
error). An input is flagged when its score is strictly above the threshold;
the threshold is set on clean images so that at most a given share of them is
flagged (the false-positive rate).

``roc_auc`` is the probability that a random positive scores above a random
negative, ties counting one half (the Mann-Whitney statistic), which is the
area under the ROC curve of :func:`roc_curve` exactly, ties included.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import rankdata


def _scores(values: np.ndarray | list[float]) -> np.ndarray:
    array = np.asarray(values, np.float64).reshape(-1)
    if not np.isfinite(array).all():
        raise ValueError("scores must be finite")
    return array


def roc_auc(negatives: np.ndarray, positives: np.ndarray) -> float:
    """``P(positive > negative) + P(positive == negative) / 2``; NaN when either side is empty."""
    negatives, positives = _scores(negatives), _scores(positives)
    if len(negatives) == 0 or len(positives) == 0:
        return math.nan
    ranks = rankdata(np.concatenate([negatives, positives]))  # ties get their average rank
    positive_rank_sum = ranks[len(negatives) :].sum()
    u = positive_rank_sum - len(positives) * (len(positives) + 1) / 2.0
    return float(u / (len(negatives) * len(positives)))


def roc_curve(negatives: np.ndarray, positives: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """False- and true-positive rates at every distinct threshold, from (0, 0) to (1, 1).

    Point ``j`` flags every score ``>=`` the ``j``-th largest distinct score, so
    tied scores move both rates at once (a diagonal step) and the trapezoidal
    area under the curve equals :func:`roc_auc`.
    """
    negatives, positives = _scores(negatives), _scores(positives)
    if len(negatives) == 0 or len(positives) == 0:
        raise ValueError("a ROC curve needs negatives and positives")
    values = np.unique(np.concatenate([negatives, positives]))[::-1]
    negatives_sorted, positives_sorted = np.sort(negatives), np.sort(positives)
    at_or_above_neg = len(negatives) - np.searchsorted(negatives_sorted, values, side="left")
    at_or_above_pos = len(positives) - np.searchsorted(positives_sorted, values, side="left")
    fpr = np.concatenate([[0.0], at_or_above_neg / len(negatives)])
    tpr = np.concatenate([[0.0], at_or_above_pos / len(positives)])
    return fpr, tpr


def curve_area(fpr: np.ndarray, tpr: np.ndarray) -> float:
    """Trapezoidal area under a ROC curve."""
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2.0))


def threshold_at_fpr(clean_scores: np.ndarray, false_positive_rate: float) -> float:
    """The smallest clean score ``t`` that flags (``score > t``) at most this share of clean images.

    With ``n`` clean scores at most ``floor(rate * n)`` lie above ``t``; ties at
    ``t`` are not flagged, so the realised rate can be lower than asked.
    """
    if not 0.0 <= false_positive_rate < 1.0:
        raise ValueError(f"false_positive_rate must be in [0, 1), got {false_positive_rate}")
    scores = np.sort(_scores(clean_scores))
    if len(scores) == 0:
        raise ValueError("a threshold needs clean scores")
    allowed = int(math.floor(false_positive_rate * len(scores) + 1e-9))
    return float(scores[len(scores) - allowed - 1])


def detection_rate(scores: np.ndarray, threshold: float) -> float:
    """Share of ``scores`` strictly above ``threshold`` (NaN for none)."""
    scores = _scores(scores)
    return float((scores > threshold).mean()) if len(scores) else math.nan


def distribution(scores: np.ndarray) -> dict[str, float]:
    """Mean, standard deviation and percentiles of a score distribution."""
    scores = _scores(scores)
    if len(scores) == 0:
        return {"n": 0}
    p5, p50, p95, p99 = np.percentile(scores, [5, 50, 95, 99])
    return {
        "n": int(len(scores)),
        "mean": float(scores.mean()),
        "std": float(scores.std()),
        "min": float(scores.min()),
        "p5": float(p5),
        "median": float(p50),
        "p95": float(p95),
        "p99": float(p99),
        "max": float(scores.max()),
    }

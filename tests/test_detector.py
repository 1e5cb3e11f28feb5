"""ROC-AUC, ROC curves, thresholds at a false-positive rate and detection rates, by hand."""

import math

import numpy as np
import pytest

from fooled.models import detector


def test_roc_auc_of_a_hand_computed_case_with_ties():
    negatives = [0.1, 0.2, 0.3, 0.4]
    positives = [0.3, 0.5]
    # 0.3 beats 0.1 and 0.2, ties 0.3 (1/2), loses to 0.4: 2.5; 0.5 beats all four: 4
    assert detector.roc_auc(negatives, positives) == pytest.approx(6.5 / 8)
    assert detector.roc_auc(positives, negatives) == pytest.approx(1.5 / 8)


def test_roc_auc_extremes():
    assert detector.roc_auc([0, 1, 2], [3, 4]) == 1.0
    assert detector.roc_auc([3, 4], [0, 1, 2]) == 0.0
    assert detector.roc_auc([1, 1, 1], [1, 1]) == 0.5
    assert math.isnan(detector.roc_auc([1, 2], []))
    with pytest.raises(ValueError, match="finite"):
        detector.roc_auc([1, np.nan], [2])


def test_roc_curve_area_equals_auc_with_ties():
    rng = np.random.default_rng(0)
    negatives = rng.integers(0, 20, 300).astype(float)  # many ties
    positives = rng.integers(5, 25, 200).astype(float)
    fpr, tpr = detector.roc_curve(negatives, positives)
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0.0, 0.0, 1.0, 1.0)
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)
    assert detector.curve_area(fpr, tpr) == pytest.approx(detector.roc_auc(negatives, positives))
    fpr, tpr = detector.roc_curve([0.1, 0.2, 0.3, 0.4], [0.3, 0.5])
    np.testing.assert_allclose(fpr, [0, 0, 0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(tpr, [0, 0.5, 0.5, 1.0, 1.0, 1.0])


def test_threshold_at_a_false_positive_rate():
    clean = np.arange(1, 11, dtype=float)  # 1 .. 10
    assert detector.threshold_at_fpr(clean, 0.2) == 8.0  # flags 9 and 10: 2 of 10
    assert detector.detection_rate(clean, 8.0) == pytest.approx(0.2)
    assert detector.threshold_at_fpr(clean, 0.25) == 8.0  # floor(2.5) = 2 allowed
    assert detector.threshold_at_fpr(clean, 0.0) == 10.0  # nothing clean flagged
    assert detector.threshold_at_fpr(clean[::-1], 0.5) == 5.0  # order does not matter
    # ties at the threshold are not flagged: the realised rate can be lower than asked
    tied = [1.0, 2.0, 3.0, 3.0, 3.0]
    threshold = detector.threshold_at_fpr(tied, 0.4)
    assert threshold == 3.0 and detector.detection_rate(tied, threshold) == 0.0
    rng = np.random.default_rng(1)
    scores = rng.normal(size=10_000)
    for rate in (0.01, 0.05, 0.1):
        realised = detector.detection_rate(scores, detector.threshold_at_fpr(scores, rate))
        assert realised == pytest.approx(rate, abs=1e-4)
    with pytest.raises(ValueError, match="false_positive_rate"):
        detector.threshold_at_fpr(clean, 1.0)


def test_detection_rate_and_distribution():
    assert detector.detection_rate([0.1, 0.2, 0.3, 0.4], 0.2) == 0.5
    assert math.isnan(detector.detection_rate([], 0.2))
    figures = detector.distribution([1.0, 2.0, 3.0, 4.0])
    assert figures["n"] == 4 and figures["mean"] == 2.5 and figures["median"] == 2.5
    assert figures["std"] == pytest.approx(np.std([1, 2, 3, 4]))

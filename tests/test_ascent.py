"""Gradient ascent to a chosen class: reaches 99.99% on a real LeNet, decays, records thresholds."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from fooling_support import mnist, small_lenet

from fooled.attacks.ascent import AscentSettings, GradientAscent, float32_thresholds
from fooled.core.config import schema_defaults
from fooled.models.handle import ModelHandle

DEFAULTS = schema_defaults("studies/fooling.schema.yaml", "defaults", "ascend")


def settings(**changes) -> AscentSettings:
    return AscentSettings.from_config({**DEFAULTS, **changes})


def starts_and_targets() -> tuple[np.ndarray, np.ndarray]:
    """Noise towards 3 and 8, and a real 1 and 7 (first of each in the test set) towards 7 and 1."""
    arrays = mnist()
    digits = arrays["test/images"][:200].astype(np.float32) / 255.0
    labels = arrays["test/labels"][:200]
    real = np.stack([digits[np.flatnonzero(labels == c)[0]] for c in (1, 7)])
    noise = np.random.default_rng(0).random((2, 28, 28), dtype=np.float32)
    return np.concatenate([noise, real]), np.array([3, 8, 7, 1])


def test_ascent_reaches_9999_from_noise_and_from_real_digits():
    model = small_lenet()
    starts, targets = starts_and_targets()
    result = GradientAscent(settings()).run(model, starts, targets)  # the default 300 steps
    assert result.images.shape == starts.shape and result.confidence_history.shape == (301, 4)
    assert 0.0 <= result.images.min() and result.images.max() <= 1.0
    assert (result.final_confidence >= 0.999).all() and (result.predicted == targets).all()
    steps = result.threshold_step
    assert (steps[1] >= 0).all() and (steps[2] >= 0).sum() >= 3  # this small net: 3 of 4
    steps = np.where(steps >= 0, steps, 301)
    assert (np.diff(steps, axis=0) >= 0).all()  # 99% before 99.9% before 99.99%
    steps = steps[:, steps[-1] < 301]
    reached = np.flatnonzero(result.threshold_step[-1] >= 0)
    for row, threshold in enumerate(result.thresholds):
        for column in reached:
            step = result.threshold_step[row, column]
            history = result.confidence_history[:, column].astype(np.float64)
            assert history[step] >= threshold and (history[:step] < threshold).all()
    # the image kept at the first 99.99% step is the one the network scored there
    kept = result.threshold_images[-1][reached]
    at_top = model.probabilities_numpy(kept)[np.arange(len(reached)), targets[reached]]
    expected = result.confidence_history[result.threshold_step[-1, reached], reached]
    np.testing.assert_allclose(at_top, expected, atol=1e-5)
    assert np.array_equal(result.start_images, starts)


def test_authors_progress_steps_and_logit_score_also_reach_high_confidence():
    """The authors' progress steps need no decay here (with 0.01 the decay wins on MNIST)."""
    model = small_lenet()
    starts, targets = starts_and_targets()
    progress = {"score": "probability", "lr_policy": "progress", "l2_decay": 0.0}
    for changes in (progress, {"score": "logit"}):
        result = GradientAscent(settings(steps=150, **changes)).run(model, starts, targets)
        assert np.isfinite(result.confidence_history).all()
        assert (result.threshold_step[0] >= 0).all(), changes  # every start passes 99%


def constant_model() -> ModelHandle:
    """A real Keras classifier whose output ignores the image (zero weights): no gradient."""
    inputs = keras.Input((784,))
    logits = keras.layers.Dense(3, kernel_initializer="zeros", name="logits")(inputs)
    return ModelHandle(keras.Model(inputs, keras.layers.Softmax()(logits)))


def test_l2_decay_pulls_towards_the_centre_and_zero_steps_change_nothing():
    model = constant_model()
    start = np.full((1, 28, 28), 0.8, np.float32)
    decayed = GradientAscent(settings(steps=50, l2_decay=0.01), centre=0.2).run(model, start, [1])
    np.testing.assert_allclose(decayed.images, 0.2 + 0.99**50 * 0.6, rtol=1e-5)
    np.testing.assert_allclose(decayed.confidence_history, 1 / 3, rtol=1e-6)
    assert (decayed.threshold_step == -1).all() and np.isnan(decayed.threshold_images).all()
    unchanged = GradientAscent(settings(steps=0)).run(model, start, [2])
    assert np.array_equal(unchanged.images, start) and unchanged.confidence_history.shape == (1, 1)


def test_penalty_enters_the_objective():
    model = small_lenet()
    starts, targets = starts_and_targets()
    plain = GradientAscent(settings(steps=60)).run(model, starts, targets)
    darkness = lambda images: tf.reduce_sum(images, axis=[1, 2])  # noqa: E731
    penalised = GradientAscent(settings(steps=60, penalty_weight=1.0), penalty=darkness).run(
        model, starts, targets
    )
    assert penalised.images.mean() < plain.images.mean() - 0.02


def test_float32_thresholds_agree_with_float64_comparison():
    thresholds = [0.99, 0.999, 0.9999]
    as_float32 = float32_thresholds(thresholds)
    assert (as_float32.astype(np.float64) >= thresholds).all()
    below = np.nextafter(as_float32, np.float32(0))
    assert (below.astype(np.float64) < thresholds).all()


def test_settings_are_checked():
    with pytest.raises(ValueError, match="score"):
        settings(score="softmax")
    with pytest.raises(ValueError, match="lack"):
        AscentSettings.from_config({"score": "logit"})

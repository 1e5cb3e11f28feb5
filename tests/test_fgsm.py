"""FGSM: perturbation size, clipping, the penalty term and the settings, on a tiny real MLP."""

import numpy as np
import pytest
import tensorflow as tf
from defences_helpers import numpy_input_gradient, pixels, tiny_mlp

from fooled.attacks.fgsm import FGSM, FGSMSettings
from fooled.models.handle import ModelHandle

TOLERANCE = 1e-6  # float32 round-off of x + eps


@pytest.fixture(scope="module")
def model() -> ModelHandle:
    return ModelHandle(tiny_mlp())


@pytest.fixture(scope="module")
def test_digits() -> tuple[np.ndarray, np.ndarray]:
    return pixels("test", 300)


def _settings(epsilons=(0.0, 0.1, 0.25), steps=1, weight=0.0, gradient="float32") -> FGSMSettings:
    return FGSMSettings(
        epsilons=epsilons, steps=steps, batch_size=128, penalty_weight=weight, gradient=gradient
    )


def _input_gradient(model: ModelHandle, images: np.ndarray, labels: np.ndarray) -> np.ndarray:
    x = tf.constant(images.reshape(len(images), -1))
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(
            tf.nn.sparse_softmax_cross_entropy_with_logits(tf.constant(labels), model.logits(x))
        )
    return tape.gradient(loss, x).numpy().reshape(images.shape)


def test_every_pixel_moves_exactly_eps_unless_clipped(model, test_digits):
    images, labels = test_digits
    result = FGSM(_settings()).run(model, images, labels)
    gradient_sign = np.sign(_input_gradient(model, images, labels))
    assert result.adversarial.shape == (3, *images.shape)
    for eps, adversarial in zip(result.epsilons, result.adversarial, strict=True):
        step = adversarial - images
        assert np.abs(step).max() <= eps + TOLERANCE
        assert adversarial.min() >= 0.0 and adversarial.max() <= 1.0
        expected = np.clip(images + eps * gradient_sign, 0.0, 1.0)
        np.testing.assert_allclose(adversarial, expected, atol=TOLERANCE)
        unclipped = (expected > 0.0) & (expected < 1.0) & (gradient_sign != 0)
        assert unclipped.mean() > 0.1
        np.testing.assert_allclose(np.abs(step[unclipped]), eps, atol=TOLERANCE)
    # eps = 0 changes nothing; a larger eps fools the model more often
    np.testing.assert_array_equal(result.adversarial[0], images)
    assert result.error_rate[0] == pytest.approx(result.clean_error)
    assert result.error_rate[2] > result.error_rate[1] > result.clean_error + 0.2


def test_clipping_keeps_black_background_black(model, test_digits):
    images, labels = test_digits
    adversarial = FGSM(_settings((0.25,))).run(model, images, labels).adversarial[0]
    background = images == 0.0
    pushed_down = background & (np.sign(_input_gradient(model, images, labels)) < 0)
    assert pushed_down.sum() > 1000
    assert np.all(adversarial[pushed_down] == 0.0)
    white = images == 1.0
    assert np.all(adversarial[white] <= 1.0) and np.all(adversarial[white] >= 0.75 - TOLERANCE)


def test_dominant_penalty_sets_the_sign(model, test_digits):
    """With J - w * mean(x) and a huge w, every pixel steps down: x' = clip(x - eps)."""
    images, labels = test_digits
    brightness = lambda x: tf.reduce_mean(tf.reshape(x, [tf.shape(x)[0], -1]), axis=1)  # noqa: E731
    result = FGSM(_settings((0.1,), weight=1e6), penalty=brightness).run(model, images, labels)
    np.testing.assert_allclose(result.adversarial[0], np.clip(images - 0.1, 0, 1), atol=TOLERANCE)
    expected_penalty = np.clip(images - 0.1, 0, 1).reshape(len(images), -1).mean(axis=1)
    np.testing.assert_allclose(result.penalty[0], expected_penalty, rtol=1e-5)


def test_iterative_variant_stays_in_the_eps_box(model, test_digits):
    images, labels = test_digits
    one = FGSM(_settings((0.1,))).run(model, images, labels)
    many = FGSM(_settings((0.1,), steps=5)).run(model, images, labels)
    assert np.abs(many.adversarial[0] - images).max() <= 0.1 + TOLERANCE
    assert many.adversarial.min() >= 0 and many.adversarial.max() <= 1
    assert many.error_rate[0] >= one.error_rate[0]


def test_settings_come_whole_from_the_config():
    config = {
        "epsilons": [0.25],
        "steps": 1,
        "batch_size": 10,
        "penalty_weight": 0.0,
        "gradient": "exact",
        "x": 1,
    }
    assert FGSMSettings.from_config(config).epsilons == (0.25,)
    with pytest.raises(ValueError, match="lack penalty_weight"):
        FGSMSettings.from_config(
            {"epsilons": [0.25], "steps": 1, "batch_size": 10, "gradient": "exact"}
        )
    with pytest.raises(ValueError, match="epsilons"):
        FGSMSettings(epsilons=(-0.1,), steps=1, batch_size=1, penalty_weight=0.0, gradient="x")
    with pytest.raises(ValueError, match="gradient must be one of exact, float32"):
        FGSMSettings(epsilons=(0.1,), steps=1, batch_size=1, penalty_weight=0.0, gradient="x")


def test_the_exact_gradient_is_the_float64_gradient_where_float32_loses_the_true_class(
    test_digits,
):
    """Checked against a float64 NumPy forward and backward pass written here: exact FGSM
    steps along the float64 gradient's sign; float32 FGSM (TensorFlow's, ART's and
    foolbox's arithmetic) departs from it on images whose float32 true-class probability
    is exactly 1.0. The tiny MLP's logits are scaled by 8 to make it as confident as the
    default run's MLP (which is certain, in float32, of about a third of the test digits)."""
    import keras
    from defences_helpers import tiny_mlp

    confident = keras.models.clone_model(tiny_mlp())
    weights = tiny_mlp().get_weights()
    confident.set_weights([*weights[:-2], 8.0 * weights[-2], 8.0 * weights[-1]])
    model = ModelHandle(confident)
    images, labels = test_digits
    reference, p_true32 = numpy_input_gradient(model, images, labels)
    exact = FGSM(_settings((0.1,), gradient="exact")).run(model, images, labels).adversarial[0]
    float32 = FGSM(_settings((0.1,))).run(model, images, labels).adversarial[0]
    flat = images.reshape(len(images), -1)
    expected = np.clip(flat + 0.1 * np.sign(reference), 0, 1)
    # Pixels whose float64 gradient is far from 0 (its sign is not round-off).
    clear = np.abs(reference) > 1e-6 * np.abs(reference).max(axis=1, keepdims=True)
    exact_flat, float32_flat = exact.reshape(flat.shape), float32.reshape(flat.shape)
    assert np.abs(exact_flat - expected)[clear].max() <= TOLERANCE
    saturated = p_true32 == 1.0
    assert saturated.sum() >= 5, "the tiny MLP should be certain of some digits"
    departs = (np.abs(float32_flat - expected) > TOLERANCE) & clear
    # Every saturated image steps against the float64 gradient on many pixels; elsewhere
    # float32 round-off of 1 - p_true flips only pixels whose gradient is nearly balanced.
    assert departs[saturated].any(axis=1).mean() > 0.9
    assert departs[saturated].mean() > 10 * departs[~saturated].mean()

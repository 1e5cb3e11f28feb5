"""PGD (L-infinity, Madry et al.): the box, the random start, restarts, FGSM as its one-step
case, and the steps checked against a float64 NumPy forward and backward pass written from
the architecture (no TensorFlow), on a tiny real MLP and real test digits."""

import numpy as np
import pytest
from defences_helpers import numpy_input_gradient, pixels, tiny_mlp

from fooled.attacks.fgsm import FGSM, FGSMSettings
from fooled.attacks.pgd import MADRY_MNIST, PGD, PGDSettings
from fooled.models.handle import ModelHandle

TOLERANCE = 1e-6  # float32 round-off of x + step


@pytest.fixture(scope="module")
def model() -> ModelHandle:
    return ModelHandle(tiny_mlp())


@pytest.fixture(scope="module")
def test_digits() -> tuple[np.ndarray, np.ndarray]:
    return pixels("test", 200)


def _settings(**changes) -> PGDSettings:
    settings = {
        "epsilons": (0.1,),
        "steps": 10,
        "step_size": 0.025,
        "restarts": 1,
        "random_start": True,
        "seed": 0,
        "batch_size": 64,
        "penalty_weight": 0.0,
        "gradient": "exact",
    }
    return PGDSettings(**{**settings, **changes})


def test_one_step_of_eps_from_the_image_is_fgsm(model, test_digits):
    images, labels = test_digits
    pgd = PGD(_settings(epsilons=(0.1, 0.25), steps=1, step_size=0.1, random_start=False))
    fgsm = FGSM(
        FGSMSettings(
            epsilons=(0.1, 0.25), steps=1, batch_size=64, penalty_weight=0.0, gradient="exact"
        )
    )
    ours, theirs = pgd.run(model, images, labels), fgsm.run(model, images, labels)
    # At eps 0.1 the step is eps; at 0.25 a step of 0.1 moves 0.1, not 0.25.
    np.testing.assert_array_equal(ours.adversarial[0], theirs.adversarial[0])
    assert np.abs(ours.adversarial[1] - images).max() <= 0.1 + TOLERANCE


def test_it_stays_in_both_boxes_and_the_same_seed_gives_the_same_bits(model, test_digits):
    images, labels = test_digits
    first = PGD(_settings(restarts=2)).run(model, images, labels)
    again = PGD(_settings(restarts=2)).run(model, images, labels)
    other = PGD(_settings(restarts=2, seed=1)).run(model, images, labels)
    assert np.abs(first.adversarial[0] - images).max() <= 0.1 + TOLERANCE
    assert first.adversarial.min() >= 0.0 and first.adversarial.max() <= 1.0
    np.testing.assert_array_equal(first.adversarial, again.adversarial)
    assert not np.array_equal(first.adversarial, other.adversarial)
    assert set(np.unique(first.restart)) <= {0, 1}


def test_it_is_at_least_as_strong_as_fgsm_and_restarts_only_add(model, test_digits):
    images, labels = test_digits
    small = {"epsilons": (0.05,), "step_size": 0.0125}  # where FGSM leaves many digits alone
    fgsm = FGSM(
        FGSMSettings(epsilons=(0.05,), steps=1, batch_size=64, penalty_weight=0.0, gradient="exact")
    ).run(model, images, labels)
    one = PGD(_settings(**small)).run(model, images, labels)
    three = PGD(_settings(restarts=3, **small)).run(model, images, labels)
    assert one.error_rate[0] > fgsm.error_rate[0]  # (a nearly linear tiny MLP: FGSM is close)
    # The first of three restarts is the single run's start: the best of three fools at
    # least every image the single run fools.
    fooled_once = one.predicted[0] != labels
    assert np.all(three.predicted[0][fooled_once] != labels[fooled_once])
    assert three.error_rate[0] >= one.error_rate[0]


def test_the_steps_follow_a_float64_numpy_gradient(model, test_digits):
    """Each PGD step from the same start, recomputed in NumPy: x + a * sign(grad), projected.
    Pixels whose float64 gradient is nearly 0 may take either sign in float32."""
    images, labels = test_digits
    eps, step = 0.1, 0.025
    flat = images.reshape(len(images), -1)
    start = np.clip(
        flat + np.random.default_rng(0).uniform(-eps, eps, flat.shape).astype(np.float32), 0, 1
    )
    result = PGD(_settings(steps=1, step_size=step)).run(model, images, labels)
    gradient, _ = numpy_input_gradient(model, start, labels)
    expected = np.clip(np.clip(start + step * np.sign(gradient), flat - eps, flat + eps), 0, 1)
    clear = np.abs(gradient) > 1e-6 * np.abs(gradient).max(axis=1, keepdims=True)
    got = result.adversarial[0].reshape(flat.shape)
    assert np.abs(got - expected)[clear].max() <= TOLERANCE
    assert clear.mean() > 0.3


def test_the_madry_preset_and_bad_settings():
    settings = PGDSettings.preset(
        "madry_mnist", seed=0, batch_size=100, penalty_weight=0.0, gradient="exact"
    )
    assert (settings.epsilons, settings.steps, settings.step_size) == ((0.3,), 40, 0.01)
    assert settings.random_start and MADRY_MNIST["restarts"] == settings.restarts
    with pytest.raises(ValueError, match="no PGD preset 'x'"):
        PGDSettings.preset("x")
    with pytest.raises(ValueError, match="step_size must be > 0"):
        _settings(step_size=0.0)
    with pytest.raises(ValueError, match="restarts and batch_size must be >= 1"):
        _settings(restarts=0)


def test_a_config_mapping_takes_the_presets_values_where_it_gives_none():
    config = {
        "preset": "madry_mnist",
        "epsilons": [0.1, 0.25],
        "steps": None,
        "step_size": None,
        "restarts": 2,
        "random_start": None,
        "seed": 3,
        "batch_size": 100,
        "penalty_weight": 0.0,
        "gradient": "exact",
        "n_images": 1000,  # another stage's key: ignored
    }
    settings = PGDSettings.from_config(config)
    assert settings.epsilons == (0.1, 0.25) and settings.restarts == 2 and settings.seed == 3
    assert (settings.steps, settings.step_size) == (MADRY_MNIST["steps"], MADRY_MNIST["step_size"])
    assert settings.random_start is MADRY_MNIST["random_start"]
    with pytest.raises(ValueError, match="PGD settings lack steps, step_size, random_start"):
        PGDSettings.from_config({**config, "preset": None})
    with pytest.raises(ValueError, match="no PGD preset 'madry'"):
        PGDSettings.from_config({**config, "preset": "madry"})

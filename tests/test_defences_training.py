"""Adversarial training on a small real run: FGSM error falls; logits share the trained weights."""

import keras
import numpy as np
import pytest
from defences_helpers import pixels, tiny_mlp

from fooled.attacks.fgsm import FGSM, FGSMSettings
from fooled.models.adversarial_training import (
    AdversarialTrainingSettings,
    shared_logits,
    train_adversarially,
)
from fooled.models.handle import ModelHandle

ATTACK = FGSMSettings(
    epsilons=(0.25,), steps=1, batch_size=500, penalty_weight=0.0, gradient="float32"
)


def _fgsm_error(model: keras.Model) -> float:
    images, labels = pixels("test", 500)
    return float(FGSM(ATTACK).run(ModelHandle(model), images, labels).error_rate[0])


def test_adversarial_training_reduces_fgsm_error():
    model = tiny_mlp()
    before = _fgsm_error(model)
    images, labels = pixels("train", 3000)
    settings = AdversarialTrainingSettings.from_config(
        {
            "alpha": 0.5,
            "epsilon": 0.25,
            "epochs": 2,
            "batch_size": 64,
            "learning_rate": 0.002,
            "seed": 0,
            "max_train_samples": None,
        }
    )
    result = train_adversarially(model, images, labels, settings)
    after = _fgsm_error(model)
    print(f"FGSM error at eps 0.25: {before:.3f} before, {after:.3f} after")
    assert before > 0.8
    assert after < before - 0.3
    history = result.history
    assert history["loss"].shape == (2,)
    np.testing.assert_allclose(
        history["loss"], 0.5 * history["clean_loss"] + 0.5 * history["adversarial_loss"], rtol=1e-4
    )
    assert 0 < history["adversarial_error"][0] < 1


def test_logits_of_a_builtin_softmax_share_the_trained_weights():
    inputs = keras.Input((784,))
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(inputs))
    logits = shared_logits(model)
    x = pixels("test", 4)[0].reshape(4, -1)
    np.testing.assert_allclose(
        keras.ops.softmax(logits(x, False)).numpy(), model(x).numpy(), rtol=1e-5, atol=1e-7
    )
    kernel, bias = model.layers[-1].get_weights()
    model.layers[-1].set_weights([kernel * 2, bias])
    np.testing.assert_allclose(logits(x, False).numpy(), x @ (kernel * 2) + bias, rtol=1e-4)
    with pytest.raises(ValueError, match="alpha"):
        AdversarialTrainingSettings(1.5, 0.25, 1, 1, 0.1, 0, None)

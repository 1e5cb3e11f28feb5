"""The paper's MNIST models: builders, weight decay in the file, the P1/P2 split, training."""

import keras
import numpy as np
import pytest
from szegedy_data import mnist, tiny_settings, trained

from fooled.models import mnist_zoo
from fooled.models.handle import ModelHandle
from fooled.models.runtime import load_model


@pytest.mark.parametrize(
    ("architecture", "decay", "dense_shapes"),
    [
        ("fc10", 1e-4, [(784, 10)]),
        ("fc100-100-10", [1e-5, 1e-5, 1e-6], [(784, 100), (100, 100), (100, 10)]),
        ("fc123-456-10", 0.0, [(784, 123), (123, 456), (456, 10)]),
        ("ae400-10", [1e-5, 1e-6], [(784, 400), (400, 10)]),
        ("relu256-256-10", 0.0, [(784, 256), (256, 256), (256, 10)]),
    ],
)
def test_builders_end_in_softmax_and_carry_their_decay(architecture, decay, dense_shapes):
    model = mnist_zoo.build_model(architecture, decay)
    assert isinstance(model.layers[-1], keras.layers.Softmax)
    kernels = [
        tuple(layer.kernel.shape) for layer in model.layers if isinstance(layer, keras.layers.Dense)
    ]
    assert kernels == dense_shapes
    expected = decay if isinstance(decay, list) else [decay] * len(dense_shapes)
    np.testing.assert_allclose(mnist_zoo.model_decays(model), expected)
    handle = ModelHandle(model)  # finds the logits before the softmax
    assert handle.outputs_probabilities and handle.n_classes == 10 and handle.input_size == 784
    parsed = mnist_zoo.parse_architecture(architecture)
    names = [layer.name for layer in model.layers]
    assert all(layer in names for layer in parsed.hidden_layers)


def test_architecture_and_decay_errors_are_one_line():
    with pytest.raises(ValueError, match="architecture 'cnn' is not one of"):
        mnist_zoo.parse_architecture("cnn")
    with pytest.raises(ValueError, match="last layer must have 10 units"):
        mnist_zoo.parse_architecture("fc100-20")
    with pytest.raises(ValueError, match="has 3 Dense layers but weight_decay lists 2"):
        mnist_zoo.build_model("fc100-100-10", [1e-5, 1e-6])


def test_p1_p2_are_seeded_disjoint_halves():
    halves = mnist_zoo.split_halves(60000, seed=0)
    assert len(halves["P1"]) == len(halves["P2"]) == 30000
    assert not np.intersect1d(halves["P1"], halves["P2"]).size
    np.testing.assert_array_equal(
        np.sort(np.concatenate([halves["P1"], halves["P2"]])), np.arange(60000)
    )
    np.testing.assert_array_equal(halves["P1"], mnist_zoo.split_halves(60000, seed=0)["P1"])
    assert not np.array_equal(halves["P1"], mnist_zoo.split_halves(60000, seed=1)["P1"])
    assert len(mnist_zoo.training_indices("P2", 60000, 0, 100)) == 100
    with pytest.raises(ValueError, match="training set 'P3'"):
        mnist_zoo.training_indices("P3", 60000, 0, None)


def test_training_is_seeded_and_reports_errors(tmp_path):
    first = trained("fc10", 1e-2, seed=0)
    assert first.n_train == 600
    assert 0.0 <= first.train_error < 0.5 and 0.0 <= first.test_error < 0.5
    assert 0.0 <= first.error_p1 <= 1.0 and 0.0 <= first.error_p2 <= 1.0
    assert first.test_predicted.shape == (10000,)
    data = mnist()
    runs = [
        mnist_zoo.train_model(
            tiny_settings("fc10", 1e-2, seed=seed, max_train_samples=200),
            data | {name: data[name][:100] for name in ("test/images", "test/labels")},
            split_seed=0,
        )
        for seed in (5, 5, 6)
    ]
    same = [
        np.array_equal(a, b)
        for a, b in zip(runs[0].model.get_weights(), runs[1].model.get_weights(), strict=True)
    ]
    assert all(same)
    assert not np.array_equal(runs[0].model.get_weights()[0], runs[2].model.get_weights()[0])
    path = tmp_path / "model.keras"
    first.model.save(path)
    loaded = load_model(path)
    mnist_zoo.check_model_matches(loaded, "fc10", 1e-2, str(path))
    with pytest.raises(ValueError, match=r"model\.keras: model does not match its config \("):
        mnist_zoo.check_model_matches(loaded, "fc100-100-10", 1e-2, str(path))
    with pytest.raises(ValueError, match="weight decay .0.5. configured"):
        mnist_zoo.check_model_matches(loaded, "fc10", 0.5, str(path))


def test_autoencoder_model_trains_features_then_softmax():
    result = trained("ae400-10", [1e-5, 1e-6])
    assert "autoencoder_loss" in result.history and "loss" in result.history
    assert result.test_error < 0.8  # above chance (90%) after one epoch on 600 images
    assert all(layer.trainable for layer in result.model.layers)

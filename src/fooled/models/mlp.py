"""The networks, trained reproducibly, and handles on their pre-activation layers.

Collisions are defined on a ReLU layer's *pre*-activations, so every model
here keeps each hidden layer as a linear ``Dense`` (named ``fc1``, ``fc2``)
followed by a separate ``ReLU`` layer: the Dense layer's output is ``f0``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from fooled.core import h5io


def limit_threads(threads: int) -> None:
    """Keep TensorFlow to the cores Snakemake gave the job (parallel jobs would oversubscribe)."""
    tf.config.threading.set_intra_op_parallelism_threads(max(1, int(threads)))
    tf.config.threading.set_inter_op_parallelism_threads(max(1, int(threads)))


def make_deterministic(seed: int) -> None:
    """Same seed, same bytes: seeds every RNG and enables TF's deterministic kernels."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def mnist_mlp(hidden_units: tuple[int, ...] = (256, 256), n_classes: int = 10) -> keras.Model:
    """The paper's MNIST network: 784-256-256-10 with ReLU, logits then softmax."""
    inputs = keras.Input(shape=(784,), name="pixels")
    hidden = inputs
    for depth, units in enumerate(hidden_units, start=1):
        hidden = keras.layers.Dense(units, name=f"fc{depth}")(hidden)
        hidden = keras.layers.ReLU(name=f"fc{depth}_relu")(hidden)
    logits = keras.layers.Dense(n_classes, name="logits")(hidden)
    probabilities = keras.layers.Softmax(name="probabilities")(logits)
    return keras.Model(inputs, probabilities, name="mnist_mlp")


def to_pixels(images: np.ndarray) -> np.ndarray:
    """uint8 (n, 28, 28) images to the float32 (n, 784) rows in [0, 1] the MLP takes."""
    return (np.asarray(images, dtype=np.float32) / 255.0).reshape(len(images), -1)


@dataclass
class TrainingResult:
    model: keras.Model
    history: dict[str, np.ndarray]
    test_loss: float
    test_accuracy: float
    test_predicted: np.ndarray
    test_top_probability: np.ndarray
    seconds: float


def train_mnist_mlp(
    train_images: np.ndarray,
    train_labels: np.ndarray,
    test_images: np.ndarray,
    test_labels: np.ndarray,
    *,
    seed: int,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    hidden_units: tuple[int, ...] = (256, 256),
    max_train_samples: int | None = None,
    verbose: int = 2,
) -> TrainingResult:
    """Train the MLP with Adam; the test set doubles as validation, as in the paper's report."""
    make_deterministic(seed)
    x_train, y_train = to_pixels(train_images), np.asarray(train_labels, dtype=np.int64)
    if max_train_samples is not None:
        x_train, y_train = x_train[:max_train_samples], y_train[:max_train_samples]
    x_test, y_test = to_pixels(test_images), np.asarray(test_labels, dtype=np.int64)

    model = mnist_mlp(tuple(hidden_units))
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=["accuracy"],
    )
    started = time.perf_counter()
    fit = model.fit(
        x_train,
        y_train,
        batch_size=batch_size,
        epochs=epochs,
        validation_data=(x_test, y_test),
        shuffle=True,
        verbose=verbose,
    )
    seconds = time.perf_counter() - started
    probabilities = model.predict(x_test, batch_size=1024, verbose=0)
    predicted = probabilities.argmax(axis=1)
    test_loss, _ = model.evaluate(x_test, y_test, batch_size=1024, verbose=0)
    return TrainingResult(
        model=model,
        history={key: np.asarray(values, dtype=np.float64) for key, values in fit.history.items()},
        test_loss=float(test_loss),
        test_accuracy=float((predicted == y_test).mean()),
        test_predicted=predicted.astype(np.uint8),
        test_top_probability=probabilities.max(axis=1).astype(np.float32),
        seconds=seconds,
    )


class LayerHandle:
    """A model seen through one of its ReLU layers' pre-activations.

    ``preact(x)`` gives ``f0(x)`` and ``probabilities(x)`` the model's output;
    both are plain callables on float32 tensors, so a collision finder can
    trace them into its own graph without knowing which framework built them.
    """

    def __init__(self, model: keras.Model, layer: str) -> None:
        names = [candidate.name for candidate in model.layers]
        if layer not in names:
            raise ValueError(f"layer '{layer}' not in model '{model.name}' (layers: {names})")
        self.model = model
        self.layer = layer
        self._preact_model = keras.Model(model.input, model.get_layer(layer).output)
        self.n_units = int(self._preact_model.output.shape[-1])
        # Graph-compiled forward passes with a free batch axis: traced once, then
        # about a third faster than eager calls on the CPU for 2,000 MNIST rows.
        signature = [tf.TensorSpec([None, *model.input.shape[1:]], tf.float32)]
        self._preact_graph = tf.function(
            lambda x: self._preact_model(x, training=False), input_signature=signature
        )
        self._probabilities_graph = tf.function(
            lambda x: self.model(x, training=False), input_signature=signature
        )

    def preact(self, x: tf.Tensor) -> tf.Tensor:
        return self._preact_model(x, training=False)

    def probabilities(self, x: tf.Tensor) -> tf.Tensor:
        return self.model(x, training=False)

    def preact_numpy(self, x: np.ndarray, batch_size: int = 4096) -> np.ndarray:
        return self._batched(self._preact_graph, x, batch_size)

    def probabilities_numpy(self, x: np.ndarray, batch_size: int = 4096) -> np.ndarray:
        return self._batched(self._probabilities_graph, x, batch_size)

    @staticmethod
    def _batched(
        forward: Callable[[tf.Tensor], tf.Tensor], x: np.ndarray, batch_size: int
    ) -> np.ndarray:
        # A direct call, not ``predict``: predict builds a tf.data pipeline per call,
        # which costs more than the forward pass of 2,000 MNIST interpolations.
        x = np.asarray(x, np.float32)
        parts = [
            np.asarray(forward(tf.constant(x[start : start + batch_size])))
            for start in range(0, len(x), batch_size)
        ]
        return np.concatenate(parts) if parts else np.zeros((0,), np.float32)


def load_model(path: str | os.PathLike[str]) -> keras.Model:
    """Load a Keras model file, with one line naming the file when it cannot be read."""
    try:
        return keras.models.load_model(path, compile=False)
    except (OSError, ValueError) as error:
        raise ValueError(f"{path}: cannot load Keras model ({error})") from error


def pick_correct_example(
    labels: np.ndarray, predicted: np.ndarray, class_id: int, index: int
) -> int:
    """Test-set position of the ``index``-th image of ``class_id`` the model gets right.

    The paper's pair is "the first correctly classified 3 and 7"; choosing
    among correct images keeps low-margin, misclassified targets out unless
    an experiment asks for them by position.
    """
    candidates = np.flatnonzero(
        (np.asarray(labels) == class_id) & (np.asarray(predicted) == class_id)
    )
    if index >= candidates.size:
        raise ValueError(
            f"class {class_id} has {candidates.size} correctly classified test images; "
            f"index {index} is out of range"
        )
    return int(candidates[index])


def pick_seed_and_target(
    experiment: dict, labels: np.ndarray, predicted: np.ndarray
) -> tuple[int, int]:
    """Test-set positions of an experiment's ``seed`` and ``target`` (``class``, ``index``)."""
    return tuple(
        pick_correct_example(
            labels, predicted, experiment[role]["class"], experiment[role]["index"]
        )
        for role in ("seed", "target")
    )


@dataclass(frozen=True)
class SeedAndTarget:
    """An MNIST experiment's seed and target: test-set positions and flat pixel rows in [0, 1]."""

    seed_index: int
    target_index: int
    seed_image: np.ndarray  # uint8 (28, 28) as stored; the macro level checks its sources by it
    seed_pixels: np.ndarray  # float32 (784,)
    target_pixels: np.ndarray  # float32 (784,)

    def attrs(self, experiment: dict, target_probabilities: np.ndarray) -> dict[str, Any]:
        """The pair's attributes in a collide artifact, with the model's verdict on the target."""
        return {
            "seed_class": experiment["seed"]["class"],
            "seed_index": self.seed_index,
            "target_class": experiment["target"]["class"],
            "target_index": self.target_index,
            "target_predicted_class": int(np.argmax(target_probabilities)),
            "target_probability": float(np.max(target_probabilities)),
        }


def read_seed_and_target(
    mnist_path: str | os.PathLike[str], metrics_path: str | os.PathLike[str], experiment: dict
) -> SeedAndTarget:
    """Read the test set and the model's predictions, and pick the experiment's pair from them."""
    mnist = h5io.read_arrays(mnist_path, ["test/images", "test/labels"])
    predicted = h5io.read_arrays(metrics_path, ["test/predicted"])["test/predicted"]
    seed_index, target_index = pick_seed_and_target(experiment, mnist["test/labels"], predicted)
    seed_pixels, target_pixels = to_pixels(mnist["test/images"][[seed_index, target_index]])
    return SeedAndTarget(
        seed_index=seed_index,
        target_index=target_index,
        seed_image=mnist["test/images"][seed_index],
        seed_pixels=seed_pixels,
        target_pixels=target_pixels,
    )

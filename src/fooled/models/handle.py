"""One handle on any Keras classifier: the wrapper every attack and study talks to.

An attack never sees the framework: it asks a :class:`ModelHandle` for
``logits``, ``probabilities`` or (for collisions) the pre-activation of one
ReLU layer, as TensorFlow callables it can trace into its own compiled graph,
or as batched NumPy for evaluation. The handle owns the model's input
convention (shape, preprocessing from the pixel scale the study works in), so
the MNIST MLP, VGG-16 and any user model are driven the same way.

Pre-activations: collisions are defined on a ReLU layer's *input*. The layer
named may be a linear layer (the MLP's ``fc1``, followed by a separate ReLU:
its output), a separate ``ReLU``/``Activation('relu')`` layer (its input), or
a layer with the ReLU built in (VGG-16's ``fc1``: a linear copy with the same
weights gives the pre-activation).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import tensorflow as tf

VGG_MEANS_BGR = (103.939, 116.779, 123.68)
PREPROCESSING = ("none", "vgg16", "scale01", "scale255")
# Rows per forward pass in the NumPy helpers: MNIST-sized inputs go 4,096 at a time (a
# direct graph call; predict() builds a tf.data pipeline per call, slower than the pass
# itself), ImageNet-sized ones 16 at a time to bound memory.
SMALL_INPUT = 4096
LARGE_BATCH = 16


def preprocess_fn(name: str) -> Callable[[tf.Tensor], tf.Tensor]:
    """Pixels in the study's scale to the network's input (``vgg16``: RGB 0-255 to BGR - means)."""
    if name == "vgg16":
        means = tf.constant(VGG_MEANS_BGR, tf.float32)
        return lambda x: x[..., ::-1] - means
    if name == "scale01":
        return lambda x: x / 255.0
    if name == "scale255":  # pixels in [0, 1] to a network that takes [0, 255]
        return lambda x: x * 255.0
    if name == "none":
        return lambda x: x
    raise ValueError(f"preprocessing '{name}' not one of {', '.join(PREPROCESSING)}")


def _activation_name(layer: keras.layers.Layer) -> str | None:
    activation = getattr(layer, "activation", None)
    return None if activation is None else getattr(activation, "__name__", None)


def _linear_copy(layer: keras.layers.Layer, suffix: str) -> Any:
    """The layer with its activation removed, same weights, applied to its symbolic input."""
    config = layer.get_config()
    config["activation"] = "linear"
    config["name"] = f"{layer.name}_{suffix}"
    linear = layer.__class__.from_config(config)
    linear.build(layer.input.shape)
    linear.set_weights(layer.get_weights())
    return linear(layer.input)


def preactivation_tensor(model: keras.Model, layer: str) -> Any:
    """The symbolic pre-activation of ``layer`` (see the module docstring for the three cases)."""
    names = [candidate.name for candidate in model.layers]
    if layer not in names:
        raise ValueError(f"layer '{layer}' not in model '{model.name}' (layers: {names})")
    target = model.get_layer(layer)
    activation = _activation_name(target)
    if isinstance(target, keras.layers.ReLU) or (
        isinstance(target, keras.layers.Activation) and activation == "relu"
    ):
        return target.input
    if activation == "relu":
        return _linear_copy(target, "preactivation")
    if activation == "linear":
        return target.output
    raise ValueError(f"layer '{layer}' has no ReLU to collide at (activation {activation})")


def logits_tensor(model: keras.Model) -> tuple[Any, bool]:
    """The symbolic logits and whether the model's output is already a probability vector."""
    last = model.layers[-1]
    if isinstance(last, keras.layers.Softmax):
        return last.input, True
    if isinstance(last, keras.layers.Activation) and _activation_name(last) == "softmax":
        return last.input, True
    if _activation_name(last) == "softmax":
        return _linear_copy(last, "logits"), True
    return model.outputs[0], False


class ModelHandle:
    """A Keras classifier seen through its logits, probabilities and (optionally) one layer.

    ``x`` given to any method is a float32 batch in the study's pixel scale, of
    any shape with the batch first (flat rows or images): it is reshaped to
    the model's input and ``preprocess`` is applied inside the graph, so
    gradients flow back to the pixels the attack optimises.
    """

    def __init__(
        self, model: keras.Model, layer: str | None = None, preprocess: str = "none"
    ) -> None:
        self.model = model
        self.layer = layer
        self.preprocess = preprocess
        self._preprocess = preprocess_fn(preprocess)
        self.input_shape = tuple(int(d) for d in model.inputs[0].shape[1:])
        self.input_size = int(np.prod(self.input_shape))
        logits, self.outputs_probabilities = logits_tensor(model)
        self._logits_model = keras.Model(model.inputs, logits)
        self.n_classes = int(model.outputs[0].shape[-1])
        self._preact_model = None
        self.n_units = 0
        if layer is not None:
            self._preact_model = keras.Model(model.inputs, preactivation_tensor(model, layer))
            self.n_units = int(np.prod(self._preact_model.output.shape[1:]))
        # Graph-compiled forward passes with a free batch axis: traced once, then faster
        # than eager calls (about a third for 2,000 MNIST rows on the CPU).
        signature = [tf.TensorSpec([None, *self.input_shape], tf.float32)]
        self._graphs = {
            name: tf.function(function, input_signature=signature, autograph=False)
            for name, function in (
                ("preact", self.preact),
                ("logits", self.logits),
                ("probabilities", self.probabilities),
            )
        }
        self._compiled: dict[Any, Any] = {}

    # -------------------------------------------------------------- TensorFlow callables

    def _input(self, x: tf.Tensor) -> tf.Tensor:
        x = tf.convert_to_tensor(x, tf.float32)
        return self._preprocess(tf.reshape(x, [-1, *self.input_shape]))

    def preact(self, x: tf.Tensor) -> tf.Tensor:
        """The layer's pre-activation, flattened to ``(n, n_units)``."""
        if self._preact_model is None:
            raise ValueError(f"model '{self.model.name}' is seen at no layer (layer=None)")
        out = self._preact_model(self._input(x), training=False)
        return tf.reshape(out, [tf.shape(out)[0], -1])

    def logits(self, x: tf.Tensor) -> tf.Tensor:
        return self._logits_model(self._input(x), training=False)

    def probabilities(self, x: tf.Tensor) -> tf.Tensor:
        if self.outputs_probabilities:
            return self.model(self._input(x), training=False)
        return tf.nn.softmax(self.logits(x), axis=-1)

    # -------------------------------------------------------------- batched NumPy

    def _batched(self, name: str, x: np.ndarray, batch_size: int | None) -> np.ndarray:
        x = np.asarray(x, np.float32).reshape(-1, *self.input_shape)
        if batch_size is None:
            batch_size = SMALL_INPUT if self.input_size <= SMALL_INPUT else LARGE_BATCH
        forward = self._graphs[name]
        parts = [
            np.asarray(forward(tf.constant(x[start : start + batch_size])))
            for start in range(0, len(x), batch_size)
        ]
        return np.concatenate(parts) if parts else np.zeros((0,), np.float32)

    def preact_numpy(self, x: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        return self._batched("preact", x, batch_size)

    def logits_numpy(self, x: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        return self._batched("logits", x, batch_size)

    def probabilities_numpy(self, x: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        return self._batched("probabilities", x, batch_size)

    # -------------------------------------------------------------- layers and caches

    def layer_weights(self, layer: str | None = None) -> list[np.ndarray]:
        """The named layer's weights (default: the handle's layer)."""
        return self.model.get_layer(layer or self.layer).get_weights()

    def later_outputs(self, layer: str | None = None) -> tuple[Callable, list[str]]:
        """A NumPy callable: input rows -> the output of every layer after ``layer``.

        The last output is the model's (the class probabilities).
        """
        layer = layer or self.layer
        names = [candidate.name for candidate in self.model.layers]
        later = names[names.index(layer) + 1 :]
        if not later:
            raise ValueError(f"layer '{layer}' is the model's last layer: nothing follows it")
        probe = keras.Model(
            self.model.inputs, [self.model.get_layer(name).output for name in later]
        )

        def outputs(x: np.ndarray) -> list[np.ndarray]:
            return [np.asarray(out) for out in probe(self._input(np.asarray(x, np.float32)))]

        return outputs, later

    def compiled(self, key: Any, build: Callable[[], Any]) -> Any:
        """A graph an attack compiled for this handle, built once per key and reused."""
        if key not in self._compiled:
            self._compiled[key] = build()
        return self._compiled[key]

"""The collision losses of the paper (SPEC section 2), on pre-activations.

All functions take TensorFlow tensors with a leading batch axis for the
candidate ``x`` (one row per corner) and a single target pre-activation
``f0(t)``; they are pure, so they can live inside one compiled graph.

``L_pos`` is the full sum of squares, as the paper writes it (the authors'
code halves it); the stopping threshold of 5 is compared against this value.
"""

from __future__ import annotations

import tensorflow as tf


def psgn(preact: tf.Tensor) -> tf.Tensor:
    """1 where the unit is active or exactly zero (``v >= 0``), else 0."""
    return tf.cast(preact >= 0, preact.dtype)


def nsgn(preact: tf.Tensor) -> tf.Tensor:
    """-1 where the unit is strictly negative, else 0."""
    return -tf.cast(preact < 0, preact.dtype)


def loss_pos(preact_x: tf.Tensor, preact_target: tf.Tensor) -> tf.Tensor:
    """``||f0(x) * psgn(f0(t)) - f(t)||^2`` per row: keeps the target's active units equal."""
    positive_mask = psgn(preact_target)
    relu_target = tf.nn.relu(preact_target)
    residual = preact_x * positive_mask - relu_target
    return tf.reduce_sum(tf.square(residual), axis=-1)


def loss_neg(preact_x: tf.Tensor, preact_target: tf.Tensor, negative_unit: tf.Tensor) -> tf.Tensor:
    """``L_neg^i`` per row, ``i = negative_unit[row]``.

    Pushes unit ``i`` down (towards one corner of the polytope) and every
    other negative unit of the target towards zero, so different ``i`` reach
    different corners.
    """
    signed = preact_x * nsgn(preact_target)  # = -f0(x) on the target's negative units, 0 elsewhere
    chosen = tf.one_hot(negative_unit, tf.shape(preact_target)[-1], dtype=preact_x.dtype)
    return tf.reduce_sum(-signed * chosen + tf.abs(signed) * (1.0 - chosen), axis=-1)


def negative_units(preact_target: tf.Tensor | object, count: int) -> list[int]:
    """The target's first ``count`` strictly negative units (the paper's choice of ``i``)."""
    import numpy as np

    values = np.asarray(preact_target).reshape(-1)
    candidates = np.flatnonzero(values < 0)
    if candidates.size < count:
        raise ValueError(
            f"target has only {candidates.size} negative units; {count} corners requested"
        )
    return [int(unit) for unit in candidates[:count]]

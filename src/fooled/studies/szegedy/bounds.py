"""Upper Lipschitz bounds of a network, layer by layer (Szegedy et al., section 4.3, Table 5).

For ``phi = phi_K o ... o phi_1`` the Lipschitz constant of the whole map
(input pixels to logits, L2 norms) is at most the product of the layers'
constants:

- **Dense** ``x -> W x + b``: the spectral norm ``|W|_2`` (exact: the
  largest singular value; LAPACK's full SVD when the smaller side is at most
  1,024, else Lanczos (ARPACK ``svds``) to full precision: a full SVD of
  VGG-16's 4096 x 4096 fc2 took minutes, Lanczos a second).
- **Conv2D**, stride 1, 'same' or 'valid' zero padding, on an ``n1 x n2``
  input: the operator norm of the circular convolution on the
  ``(n1 + k1 - 1) x (n2 + k2 - 1)`` grid, ``max_xi |K^(xi)|_2`` over the
  grid's frequencies, where ``K^(xi)`` is the ``c_out x c_in`` matrix of the
  kernel's 2-D DFT (Sedghi, Gupta and Long 2019; the paper's own method). On
  that grid the zero-padded convolution is a crop of the circular one applied
  to the zero-embedded input, so this is an upper bound (exact up to the
  boundary). A stride ``s > 1`` subsamples the output, a map of norm 1, so
  the stride-1 value still bounds it (not exact then).
- **Activations**: ReLU 1, sigmoid 1/4, tanh 1, linear 1 (its maximal slope).
- **Max pooling** with windows that do not overlap (pool size <= stride): 1.
- Flatten, Reshape, Dropout (inference) and the input: 1. The final softmax is
  left out: the bound is on the logits, the quantity the measured ratio uses.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
import scipy.sparse.linalg

ACTIVATION_LIPSCHITZ = {"relu": 1.0, "sigmoid": 0.25, "tanh": 1.0, "linear": 1.0, None: 1.0}
DENSE_LAPACK_LIMIT = 1024
CHUNK_ENTRIES = 1 << 22  # complex matrix entries per batched SVD (64 MB)


def dense_bound(kernel: np.ndarray) -> float:
    """The spectral norm of a dense kernel (largest singular value)."""
    kernel = np.asarray(kernel, np.float64)
    if min(kernel.shape) <= DENSE_LAPACK_LIMIT:
        return float(np.linalg.norm(kernel, 2))
    # A fixed start vector: ARPACK's default is random, which moves the last bits of the
    # result from run to run (a local and a cluster run of the same job then disagree).
    start = np.random.default_rng(0).standard_normal(min(kernel.shape))
    value = scipy.sparse.linalg.svds(
        kernel, k=1, return_singular_vectors=False, tol=1e-10, v0=start
    )
    return float(value[0])


def conv_bound(kernel: np.ndarray, input_size: tuple[int, int]) -> float:
    """Operator norm bound of a stride-1 convolution (Keras kernel ``(k1, k2, c_in, c_out)``).

    The DFT at each frequency is summed directly from the ``k1 * k2`` taps, a
    chunk of frequencies at a time, so memory stays near ``CHUNK_ENTRIES``
    complex numbers (VGG-16's first layers at 224 px have 25,764 frequencies of
    64 x 64 matrices: 1.7 GB at once). A real kernel's frequency ``(-u, -v)``
    is the conjugate of ``(u, v)`` with the same singular values, so half the
    grid (``v <= g2 / 2``) holds every distinct value.
    """
    kernel = np.asarray(kernel, np.float64)
    k1, k2, c_in, c_out = kernel.shape
    g1, g2 = int(input_size[0]) + k1 - 1, int(input_size[1]) + k2 - 1
    half = g2 // 2 + 1
    frequencies = np.arange(g1 * half)
    chunk = max(1, CHUNK_ENTRIES // (c_in * c_out))
    taps_a, taps_b = np.arange(k1), np.arange(k2)
    largest = 0.0
    for begin in range(0, len(frequencies), chunk):
        part = frequencies[begin : begin + chunk]
        u, v = part // half, part % half
        phase = np.exp(
            -2j
            * np.pi
            * (
                taps_a[None, :, None] * u[:, None, None] / g1
                + taps_b[None, None, :] * v[:, None, None] / g2
            )
        )  # (chunk, k1, k2)
        matrices = np.einsum("fab,abio->fio", phase, kernel)
        values = np.linalg.svd(matrices, compute_uv=False)
        largest = max(largest, float(values[:, 0].max()))
    return largest


@dataclass
class LayerBound:
    """One layer's row of Table 5: what it is, its operator norm and its activation's constant."""

    name: str
    kind: str
    size: str
    stride: int | None
    bound: float
    activation: float

    @property
    def total(self) -> float:
        return self.bound * self.activation


def _activation_of(layer: keras.layers.Layer) -> str | None:
    activation = getattr(layer, "activation", None)
    return None if activation is None else getattr(activation, "__name__", None)


def _spatial(shape) -> tuple[int, int]:
    return int(shape[1]), int(shape[2])


def layer_bounds(model: keras.Model) -> list[LayerBound]:
    """Every layer up to the logits, with its bound (module docstring); unknown layers refused."""
    rows: list[LayerBound] = []
    for layer in model.layers:
        name = _activation_of(layer)
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if isinstance(layer, keras.layers.Softmax) or (
            isinstance(layer, keras.layers.Activation) and name == "softmax"
        ):
            break
        if isinstance(layer, keras.layers.Dense):
            kernel = layer.get_weights()[0]
            activation = "linear" if name == "softmax" else name
            rows.append(
                LayerBound(
                    layer.name,
                    "dense",
                    "x".join(str(d) for d in kernel.shape),
                    None,
                    dense_bound(kernel),
                    _lipschitz(activation, layer.name),
                )
            )
            if name == "softmax":
                break
        elif isinstance(layer, keras.layers.Conv2D):
            kernel = layer.get_weights()[0]
            if layer.dilation_rate not in ((1, 1), 1):
                raise ValueError(f"layer '{layer.name}': dilated convolutions are not bounded here")
            k1, k2, c_in, c_out = kernel.shape
            rows.append(
                LayerBound(
                    layer.name,
                    "conv",
                    f"{c_in}x{k1}x{k2}x{c_out}",
                    int(layer.strides[0]),
                    conv_bound(kernel, _spatial(layer.input.shape)),
                    _lipschitz(name, layer.name),
                )
            )
        elif isinstance(layer, keras.layers.MaxPooling2D):
            if any(p > s for p, s in zip(layer.pool_size, layer.strides, strict=True)):
                raise ValueError(
                    f"layer '{layer.name}': overlapping max pooling is not bounded here"
                )
            rows.append(LayerBound(layer.name, "maxpool", "", int(layer.strides[0]), 1.0, 1.0))
        elif isinstance(layer, keras.layers.ReLU):
            rows.append(LayerBound(layer.name, "activation", "", None, 1.0, 1.0))
        elif isinstance(layer, keras.layers.Activation):
            rows.append(
                LayerBound(layer.name, "activation", "", None, 1.0, _lipschitz(name, layer.name))
            )
        elif isinstance(layer, keras.layers.Flatten | keras.layers.Reshape | keras.layers.Dropout):
            continue
        else:
            raise ValueError(
                f"layer '{layer.name}' ({layer.__class__.__name__}) has no Lipschitz bound here"
            )
    return rows


def network_bound(rows: list[LayerBound]) -> float:
    """The product of every layer's operator norm and activation constant (pixels to logits)."""
    return float(np.prod([row.total for row in rows])) if rows else 1.0


def local_ratios(logits_clean: np.ndarray, logits_adversarial: np.ndarray, clean, adversarial):
    """``|f(x + r) - f(x)| / |r|`` per example (L2 norms; f the logits); NaN where ``r = 0``."""
    clean = np.asarray(clean, np.float64).reshape(len(clean), -1)
    adversarial = np.asarray(adversarial, np.float64).reshape(len(adversarial), -1)
    change = np.linalg.norm(np.asarray(logits_adversarial, np.float64) - logits_clean, axis=1)
    size = np.linalg.norm(adversarial - clean, axis=1)
    return np.where(size > 0, change / np.where(size > 0, size, 1.0), np.nan)


def _lipschitz(activation: str | None, layer: str) -> float:
    if activation not in ACTIVATION_LIPSCHITZ:
        raise ValueError(f"layer '{layer}': no Lipschitz constant for activation '{activation}'")
    return ACTIVATION_LIPSCHITZ[activation]

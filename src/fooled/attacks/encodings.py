"""Genomes to images for the evolutionary fooling attack: the direct and the CPPN encodings.

Nguyen, Yosinski and Clune evolve images with two encodings:

- **direct**: every pixel is a gene in ``[0, 1]``, initialised uniformly and
  mutated independently: each gene is chosen with probability ``mutation_rate``
  (0.1, halved every 1,000 generations) and moved by polynomial mutation
  (Deb's operator in the form the authors' Sferes framework implements:
  ``delta in [-1, 1]`` with density ``(eta + 1) / 2 * (1 - |delta|)^eta``,
  the result clipped to ``[0, 1]``; the paper's "mutation strength" 15 is
  ``eta``).
- **CPPN** (compositional pattern-producing network): a small feed-forward
  network of sine, sigmoid, Gaussian and linear units maps each pixel's
  coordinates ``(x, y, d)`` (``x, y`` in ``[-1, 1]``, ``d`` the distance to
  the centre) and a bias to the pixel's intensity (one output per colour
  channel). Evolution perturbs weights, redraws node functions, rewires,
  adds and removes connections and nodes, with the operators and rates of
  the authors' Sferes code (``gen_dnn.hpp``, ``af_cppn.hpp``,
  ``dl_map_elites_images_mnist.cpp``).

A population is a :data:`Genomes` mapping of arrays that all have the
population on axis 0, so selection, archives and checkpoints treat both
encodings alike (:func:`take`, :func:`put`), and rendering is vectorised over
the whole population: a reshape for the direct encoding, elementwise weighted
sums node by node for the CPPNs (no BLAS, so a genome renders to the same
bits on every processor and in every chunk), in population chunks that bound
memory for large images.

CPPN representation (fixed capacity, so a population is a few dense arrays):
``H = max_hidden_nodes`` hidden slots and ``C`` outputs; sources are
``x, y, d, bias`` and the hidden slots, destinations the hidden slots and the
outputs. Active hidden nodes occupy slots ``0 .. n_hidden - 1`` in
topological order, and a hidden slot only receives from inputs and lower
slots, so every genome is acyclic and one pass over the slots renders the
whole population. (Sferes' networks may be recurrent and are stepped a fixed
number of times; here they are feed-forward, as CPPNs usually are.) Every
function's output lies in ``[-1, 1]`` and a pixel's intensity is ``|o|``,
as in the authors' ``convert_to_color_scale``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from fooled.core.settings import config_fields

Genomes = dict[str, np.ndarray]

N_INPUTS = 4  # x, y, d, bias
FUNCTIONS = ("sine", "sigmoid", "gaussian", "linear")
# Rendering bound: population rows per chunk so that a chunk's activations
# (rows x pixels x sources float32) stay under this many values.
RENDER_CHUNK_VALUES = 1 << 24


def take(genomes: Mapping[str, np.ndarray], index: np.ndarray) -> Genomes:
    """The genomes at ``index`` (an integer array over the population axis), copied."""
    return {key: np.array(values[index]) for key, values in genomes.items()}


def put(
    archive: Genomes, slots: np.ndarray, genomes: Mapping[str, np.ndarray], index: np.ndarray
) -> None:
    """Store ``genomes[index]`` into ``archive[slots]`` in place."""
    for key, values in archive.items():
        values[slots] = genomes[key][index]


def polynomial_mutation(
    values: np.ndarray, rng: np.random.Generator, rate: float, eta: float
) -> np.ndarray:
    """Each value in ``[0, 1]`` chosen with probability ``rate`` and moved by ``delta``.

    ``delta`` is Deb's polynomial perturbation as Sferes' ``evo_float`` draws
    it: ``u ~ U(0, 1)``; ``(2u)^(1/(eta+1)) - 1`` if ``u < 0.5``, else
    ``1 - (2(1-u))^(1/(eta+1))``; the result is clipped to ``[0, 1]``.
    A new array is returned; the random numbers drawn depend only on the
    shape and the generator's state (reproducible).
    """
    out = np.array(values, dtype=np.float32, copy=True)
    flat = out.reshape(-1)
    chosen = np.flatnonzero(rng.random(flat.shape[0]) < rate)
    u = rng.random(chosen.shape[0])
    power = 1.0 / (eta + 1.0)
    delta = np.where(u < 0.5, (2.0 * u) ** power - 1.0, 1.0 - (2.0 * (1.0 - u)) ** power)
    flat[chosen] = np.clip(flat[chosen] + delta, 0.0, 1.0).astype(np.float32)
    return out


def sbx_crossover(
    first: np.ndarray, second: np.ndarray, rng: np.random.Generator, eta: float
) -> tuple[np.ndarray, np.ndarray]:
    """Simulated binary crossover of genes in ``[0, 1]``, as Sferes' ``evo_float`` does it.

    For each gene where the parents differ, two children spread around the
    parents' mean with a spread factor drawn from Deb's bounded SBX
    distribution (index ``eta``), clipped to ``[0, 1]`` and swapped between
    the children by a coin flip; genes where the parents agree are copied.
    """
    first = np.asarray(first, np.float64)
    second = np.asarray(second, np.float64)
    low, high = np.minimum(first, second), np.maximum(first, second)
    u = rng.random(first.shape)
    swap = rng.random(first.shape) < 0.5
    spread = np.maximum(high - low, 1e-30)
    power = 1.0 / (eta + 1.0)

    def betaq(beta: np.ndarray) -> np.ndarray:
        alpha = 2.0 - beta ** -(eta + 1.0)
        return np.where(
            u <= 1.0 / alpha,
            (u * alpha) ** power,
            (1.0 / np.maximum(2.0 - u * alpha, 1e-30)) ** power,
        )

    child_low = 0.5 * ((low + high) - betaq(1.0 + 2.0 * low / spread) * (high - low))
    child_high = 0.5 * ((low + high) + betaq(1.0 + 2.0 * (1.0 - high) / spread) * (high - low))
    child_low, child_high = np.clip(child_low, 0.0, 1.0), np.clip(child_high, 0.0, 1.0)
    differ = (high - low) > np.finfo(np.float32).eps
    one = np.where(differ, np.where(swap, child_high, child_low), first)
    two = np.where(differ, np.where(swap, child_low, child_high), second)
    return one.astype(np.float32), two.astype(np.float32)


class Encoding(Protocol):
    """What the evolution needs from an encoding (both below implement it)."""

    name: str
    image_shape: tuple[int, ...]

    def random(self, rng: np.random.Generator, n: int) -> Genomes: ...

    def crossover(self, genomes: Genomes, rng: np.random.Generator) -> Genomes: ...

    def mutate(self, genomes: Genomes, rng: np.random.Generator, generation: int) -> Genomes: ...

    def render(self, genomes: Mapping[str, np.ndarray]) -> np.ndarray: ...


# ----------------------------------------------------------------------------- direct


@dataclass(frozen=True)
class DirectSettings:
    """The direct encoding (config keys of the same names; defaults in the study schema)."""

    mutation_rate: float
    rate_halving_generations: int
    eta: float
    crossover_rate: float
    crossover_eta: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.mutation_rate <= 1.0 or not 0.0 <= self.crossover_rate <= 1.0:
            raise ValueError("mutation_rate and crossover_rate must lie in [0, 1]")
        if self.crossover_eta < 0:
            raise ValueError(f"crossover_eta {self.crossover_eta} must be >= 0")
        if self.rate_halving_generations < 1 or self.eta < 0:
            raise ValueError("rate_halving_generations must be >= 1 and eta >= 0")

    @classmethod
    def from_config(cls, settings: Mapping[str, Any]) -> DirectSettings:
        return cls(**config_fields(cls, settings, "direct encoding"))


class DirectEncoding:
    """Every pixel a gene in ``[0, 1]``: genomes ``{"pixels": (n, n_pixels) float32}``."""

    name = "direct"

    def __init__(self, settings: DirectSettings, image_shape: tuple[int, ...]) -> None:
        self.settings = settings
        self.image_shape = tuple(int(d) for d in image_shape)
        self.n_genes = int(np.prod(self.image_shape))

    def rate(self, generation: int) -> float:
        """The per-gene mutation rate at ``generation`` (1 = the first offspring)."""
        halvings = int(generation) // self.settings.rate_halving_generations
        return self.settings.mutation_rate * 0.5**halvings

    def random(self, rng: np.random.Generator, n: int) -> Genomes:
        return {"pixels": rng.random((n, self.n_genes), dtype=np.float32)}

    def crossover(self, genomes: Genomes, rng: np.random.Generator) -> Genomes:
        """Parents paired in order (0 with 1, 2 with 3, ...); each pair crossed by SBX with
        probability ``crossover_rate``, else copied (an odd last parent is copied)."""
        pixels = np.array(genomes["pixels"], np.float32, copy=True)
        pairs = len(pixels) // 2
        crossed = np.flatnonzero(rng.random(pairs) < self.settings.crossover_rate)
        if crossed.size:
            first, second = 2 * crossed, 2 * crossed + 1
            pixels[first], pixels[second] = sbx_crossover(
                pixels[first], pixels[second], rng, self.settings.crossover_eta
            )
        return {"pixels": pixels}

    def mutate(self, genomes: Genomes, rng: np.random.Generator, generation: int) -> Genomes:
        pixels = polynomial_mutation(
            genomes["pixels"], rng, self.rate(generation), self.settings.eta
        )
        return {"pixels": pixels}

    def render(self, genomes: Mapping[str, np.ndarray]) -> np.ndarray:
        pixels = np.asarray(genomes["pixels"], np.float32)
        return pixels.reshape(len(pixels), *self.image_shape)


# ----------------------------------------------------------------------------- CPPN


@dataclass(frozen=True)
class CppnSettings:
    """The CPPN encoding (config keys of the same names; defaults in the study schema).

    The authors' Sferes settings (``dl_map_elites_images_mnist.cpp``):
    structural rates are probabilities per offspring (add/remove connection,
    add/remove node; ``rewire_connection_rate`` per connection, at most one
    rewired per offspring, as Sferes' ``_change_conns``); the weight and
    function rates are per connection and per node.
    """

    max_hidden_nodes: int
    weight_range: float
    add_connection_rate: float
    remove_connection_rate: float
    rewire_connection_rate: float
    add_node_rate: float
    remove_node_rate: float
    weight_mutation_rate: float
    weight_eta: float
    function_mutation_rate: float

    def __post_init__(self) -> None:
        if self.max_hidden_nodes < 0:
            raise ValueError(f"max_hidden_nodes {self.max_hidden_nodes} must be >= 0")
        if self.weight_range <= 0 or self.weight_eta < 0:
            raise ValueError("weight_range must be positive and weight_eta >= 0")
        for name in (
            "add_connection_rate",
            "remove_connection_rate",
            "rewire_connection_rate",
            "add_node_rate",
            "remove_node_rate",
            "weight_mutation_rate",
            "function_mutation_rate",
        ):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} {getattr(self, name)} not in [0, 1]")

    @classmethod
    def from_config(cls, settings: Mapping[str, Any]) -> CppnSettings:
        return cls(**config_fields(cls, settings, "CPPN encoding"))


def coordinates(height: int, width: int) -> np.ndarray:
    """Each pixel's CPPN inputs ``(x, y, d, 1)``, shape ``(height * width, 4)`` float32.

    ``x`` (column) and ``y`` (row) run over ``[-1, 1]`` across the image;
    ``d`` is the Euclidean distance to the centre, ``sqrt(x^2 + y^2)``.
    """
    ys, xs = np.meshgrid(
        np.linspace(-1.0, 1.0, height), np.linspace(-1.0, 1.0, width), indexing="ij"
    )
    d = np.sqrt(xs**2 + ys**2)
    inputs = np.stack([xs, ys, d, np.ones_like(xs)], axis=-1)
    return inputs.reshape(-1, N_INPUTS).astype(np.float32)


def activate(pre: np.ndarray, function: np.ndarray) -> np.ndarray:
    """Each row of ``pre`` through its function (an index into :data:`FUNCTIONS`).

    Sferes' CPPN functions (``nn2/af_cppn.hpp``): ``sin(p)``, the bipolar
    sigmoid ``2 / (1 + exp(-p)) - 1``, the Gaussian ``exp(-p^2)`` and the
    clipped linear ``clip(p, -3, 3) / 3``; all lie in ``[-1, 1]``.
    """
    out = np.empty_like(pre)
    for code in range(len(FUNCTIONS)):
        rows = function == code
        if not rows.any():
            continue
        values = pre[rows]
        if code == 0:
            out[rows] = np.sin(values)
        elif code == 1:
            out[rows] = np.tanh(0.5 * values)
        elif code == 2:
            out[rows] = np.exp(-np.square(values))
        else:
            out[rows] = np.clip(values, -3.0, 3.0) / 3.0
    return out


class CppnEncoding:
    """CPPN genomes as arrays over the population.

    ``weights`` and ``connected`` ``(n, S, D)``, ``functions`` ``(n, D)``,
    ``n_hidden`` ``(n,)``; ``S = 4 + H`` sources, ``D = H + C`` destinations
    (see the module docstring).
    """

    name = "cppn"

    def __init__(self, settings: CppnSettings, image_shape: tuple[int, ...]) -> None:
        self.settings = settings
        self.image_shape = tuple(int(d) for d in image_shape)
        if len(self.image_shape) not in (2, 3):
            raise ValueError(f"image shape {self.image_shape}: expected (H, W) or (H, W, C)")
        height, width = self.image_shape[:2]
        self.n_outputs = 1 if len(self.image_shape) == 2 else self.image_shape[2]
        self.n_hidden_max = settings.max_hidden_nodes
        self.n_sources = N_INPUTS + self.n_hidden_max
        self.n_destinations = self.n_hidden_max + self.n_outputs
        self.inputs = coordinates(height, width)
        # valid[s, d]: hidden slot d may receive from inputs and lower hidden slots;
        # outputs from every source.
        source = np.arange(self.n_sources)[:, None]
        destination = np.arange(self.n_destinations)[None, :]
        self.valid = (
            (source < N_INPUTS)
            | (destination >= self.n_hidden_max)
            | (source - N_INPUTS < destination)
        )

    # ---------------------------------------------------------------- one genome (views)

    def _allowed(self, n_hidden: int) -> np.ndarray:
        """Connections allowed in a genome with ``n_hidden`` active hidden nodes."""
        active_source = np.arange(self.n_sources) < N_INPUTS + n_hidden
        destination = np.arange(self.n_destinations)
        active_destination = (destination < n_hidden) | (destination >= self.n_hidden_max)
        return self.valid & active_source[:, None] & active_destination[None, :]

    def _insert_node(self, genome: Genomes, rng: np.random.Generator) -> None:
        """Sferes' add-node-on-connection: s -> d becomes s -> new -> d, both with its weight."""
        n_hidden = int(genome["n_hidden"])
        existing = np.argwhere(genome["connected"])
        if n_hidden >= self.n_hidden_max or len(existing) == 0:
            return
        source, destination = existing[rng.integers(len(existing))]
        weight = genome["weights"][source, destination]
        # The new node takes the destination's slot (or the first free slot when the
        # destination is an output); later hidden slots move up: order stays topological.
        slot = destination if destination < self.n_hidden_max else n_hidden
        last = self.n_hidden_max - 1
        for key in ("weights", "connected"):
            array = genome[key]
            array[N_INPUTS + slot + 1 :, :] = array[N_INPUTS + slot : N_INPUTS + last, :].copy()
            array[N_INPUTS + slot, :] = 0
            array[:, slot + 1 : self.n_hidden_max] = array[:, slot:last].copy()
            array[:, slot] = 0
        functions = genome["functions"]
        functions[slot + 1 : self.n_hidden_max] = functions[slot:last].copy()
        functions[slot] = rng.integers(len(FUNCTIONS))
        moved = destination + 1 if destination < self.n_hidden_max else destination
        genome["connected"][source, moved] = False
        genome["weights"][source, moved] = 0.0
        genome["connected"][source, slot] = True
        genome["weights"][source, slot] = weight
        genome["connected"][N_INPUTS + slot, moved] = True
        genome["weights"][N_INPUTS + slot, moved] = weight
        genome["n_hidden"] = np.int16(n_hidden + 1)

    def _remove_node(self, genome: Genomes, rng: np.random.Generator) -> None:
        """Remove a random hidden node and its connections; later slots move down."""
        n_hidden = int(genome["n_hidden"])
        if n_hidden == 0:
            return
        slot = int(rng.integers(n_hidden))
        last = self.n_hidden_max - 1
        for key in ("weights", "connected"):
            array = genome[key]
            array[N_INPUTS + slot : N_INPUTS + last, :] = array[N_INPUTS + slot + 1 :, :].copy()
            array[N_INPUTS + last, :] = 0
            array[:, slot:last] = array[:, slot + 1 : self.n_hidden_max].copy()
            array[:, last] = 0
        functions = genome["functions"]
        functions[slot:last] = functions[slot + 1 : self.n_hidden_max].copy()
        functions[last] = 0
        genome["n_hidden"] = np.int16(n_hidden - 1)

    def _add_connection(self, genome: Genomes, rng: np.random.Generator) -> None:
        """A new connection (uniform weight) between a random allowed, unconnected pair."""
        free = np.argwhere(self._allowed(int(genome["n_hidden"])) & ~genome["connected"])
        if len(free) == 0:
            return
        source, destination = free[rng.integers(len(free))]
        genome["connected"][source, destination] = True
        genome["weights"][source, destination] = rng.uniform(
            -self.settings.weight_range, self.settings.weight_range
        )

    def _remove_connection(self, genome: Genomes, rng: np.random.Generator) -> None:
        existing = np.argwhere(genome["connected"])
        if len(existing) == 0:
            return
        source, destination = existing[rng.integers(len(existing))]
        genome["connected"][source, destination] = False
        genome["weights"][source, destination] = 0.0

    def _rewire_connection(self, genome: Genomes, rng: np.random.Generator) -> None:
        """Sferes' ``_change_conns``: the first connection (in order) drawn below the rate
        moves its source or its target (a coin flip) to a random allowed free node."""
        existing = np.argwhere(genome["connected"])
        if len(existing) == 0:
            return
        drawn = np.flatnonzero(rng.random(len(existing)) < self.settings.rewire_connection_rate)
        if drawn.size == 0:
            return
        source, destination = existing[drawn[0]]
        free = self._allowed(int(genome["n_hidden"])) & ~genome["connected"]
        if rng.random() < 0.5:
            choices = np.flatnonzero(free[:, destination])
            if choices.size == 0:
                return
            new_source, new_destination = choices[rng.integers(choices.size)], destination
        else:
            choices = np.flatnonzero(free[source, :])
            if choices.size == 0:
                return
            new_source, new_destination = source, choices[rng.integers(choices.size)]
        weight = genome["weights"][source, destination]
        genome["connected"][source, destination] = False
        genome["weights"][source, destination] = 0.0
        genome["connected"][new_source, new_destination] = True
        genome["weights"][new_source, new_destination] = weight

    # ---------------------------------------------------------------- population operations

    def random(self, rng: np.random.Generator, n: int) -> Genomes:
        """Sferes' ``ff`` start: every input connected to every output, uniform weights,
        random functions, no hidden node."""
        genomes = {
            "weights": np.zeros((n, self.n_sources, self.n_destinations), np.float32),
            "connected": np.zeros((n, self.n_sources, self.n_destinations), bool),
            "functions": rng.integers(len(FUNCTIONS), size=(n, self.n_destinations), dtype=np.int8),
            "n_hidden": np.zeros(n, np.int16),
        }
        outputs = slice(self.n_hidden_max, self.n_destinations)
        genomes["connected"][:, :N_INPUTS, outputs] = True
        genomes["weights"][:, :N_INPUTS, outputs] = rng.uniform(
            -self.settings.weight_range,
            self.settings.weight_range,
            size=(n, N_INPUTS, self.n_outputs),
        ).astype(np.float32)
        return genomes

    def crossover(self, genomes: Genomes, rng: np.random.Generator) -> Genomes:
        """None: Sferes' ``Dnn::cross`` copies both parents (no random numbers drawn)."""
        del rng
        return {key: np.array(values, copy=True) for key, values in genomes.items()}

    def mutate(self, genomes: Genomes, rng: np.random.Generator, generation: int) -> Genomes:
        """Offspring of ``genomes`` (copied), in Sferes' order of operators.

        1. every connection's weight with probability ``weight_mutation_rate``
           (polynomial mutation on ``[-weight_range, weight_range]``), then at
           most one connection rewired; 2. every active node's function, with
           probability ``function_mutation_rate``, redrawn uniformly from the
           four; 3. add a connection, remove a connection, add a node (on a
           connection), remove a node, each with its rate. ``generation`` is
           unused (the authors' CPPN rates are constant).
        """
        del generation
        settings = self.settings
        out = {key: np.array(values, copy=True) for key, values in genomes.items()}
        n = len(out["n_hidden"])
        span = 2.0 * settings.weight_range
        scaled = (out["weights"] + settings.weight_range) / span
        mutated = polynomial_mutation(
            scaled, rng, settings.weight_mutation_rate, settings.weight_eta
        )
        out["weights"] = np.where(
            out["connected"], mutated * span - settings.weight_range, 0.0
        ).astype(np.float32)
        for index in range(n):
            genome = {key: values[index] for key, values in out.items()}
            self._rewire_connection(genome, rng)

        destination = np.arange(self.n_destinations)[None, :]
        active = (destination < out["n_hidden"][:, None]) | (destination >= self.n_hidden_max)
        change = active & (rng.random(active.shape) < settings.function_mutation_rate)
        redrawn = rng.integers(len(FUNCTIONS), size=active.shape, dtype=np.int8)
        out["functions"] = np.where(change, redrawn, out["functions"]).astype(np.int8)

        events = rng.random((n, 4)) < np.array(
            [
                settings.add_connection_rate,
                settings.remove_connection_rate,
                settings.add_node_rate,
                settings.remove_node_rate,
            ]
        )
        operations = (
            self._add_connection,
            self._remove_connection,
            self._insert_node,
            self._remove_node,
        )
        for index in np.flatnonzero(events.any(axis=1)):
            genome = {key: values[index] for key, values in out.items()}
            for happens, operation in zip(events[index], operations, strict=True):
                if happens:
                    operation(genome, rng)
            out["n_hidden"][index] = genome["n_hidden"]
        return out

    def render(self, genomes: Mapping[str, np.ndarray]) -> np.ndarray:
        """Images ``(n, *image_shape)`` float32 in ``[0, 1]``, the population at once.

        A pixel's intensity is the absolute value of its output (the authors'
        ``convert_to_color_scale``: an output in ``[-1, 1]`` to ``|o| * 255``).
        """
        n = len(genomes["n_hidden"])
        n_pixels = self.inputs.shape[0]
        chunk = max(1, RENDER_CHUNK_VALUES // (n_pixels * self.n_sources))
        images = np.empty((n, n_pixels, self.n_outputs), np.float32)
        for start in range(0, n, chunk):
            part = slice(start, min(n, start + chunk))
            weights = np.where(genomes["connected"][part], genomes["weights"][part], 0.0)
            images[part] = self._render_chunk(
                weights.astype(np.float32),
                np.asarray(genomes["functions"][part]),
                int(np.max(genomes["n_hidden"][part], initial=0)),
            )
        return images.reshape(n, *self.image_shape)

    def _render_chunk(self, weights: np.ndarray, functions: np.ndarray, depth: int) -> np.ndarray:
        """Node values laid out ``(n, sources, pixels)``, every weighted sum accumulated
        source by source in elementwise float32 operations.

        Not a matrix product, on purpose: BLAS kernels (OpenBLAS picks one per processor,
        or as ``OPENBLAS_CORETYPE`` says) sum in an order that depends on the kernel and on
        the product's shape, so a genome's image would depend on the machine and on which
        genomes share its chunk. Here every pixel of every genome is the same sequence of
        IEEE operations, ``((0 + w0 v0) + w1 v1) + ...`` in source order, whatever the
        chunk, the kernel or the SIMD width: chunked rendering equals whole rendering by
        construction. Each genome's zero weights are skipped (they are most of them:
        connections are sparse), which changes no bit: adding ``+0`` or ``-0`` to a sum
        that started at ``+0`` leaves it as it was.
        """
        n, n_pixels = len(weights), self.inputs.shape[0]
        values = np.empty((n, N_INPUTS + depth, n_pixels), np.float32)
        values[:, :N_INPUTS, :] = self.inputs.T[None]

        def weighted_sum(destination: int, n_sources: int) -> np.ndarray:
            total = np.zeros((n, n_pixels), np.float32)
            for source in range(n_sources):
                rows = np.flatnonzero(weights[:, source, destination])
                if rows.size:
                    total[rows] += weights[rows, source, destination, None] * values[rows, source]
            return total

        for slot in range(depth):
            values[:, N_INPUTS + slot, :] = activate(
                weighted_sum(slot, N_INPUTS + slot), functions[:, slot]
            )
        outputs = np.empty((n, n_pixels, self.n_outputs), np.float32)
        for channel in range(self.n_outputs):
            column = self.n_hidden_max + channel
            outputs[:, :, channel] = activate(
                weighted_sum(column, N_INPUTS + depth), functions[:, column]
            )
        return np.minimum(np.abs(outputs), 1.0)


def make_encoding(
    name: str, settings: Mapping[str, Any], image_shape: tuple[int, ...]
) -> DirectEncoding | CppnEncoding:
    """The encoding ``name`` (``direct`` or ``cppn``) from its config section."""
    if name == "direct":
        return DirectEncoding(DirectSettings.from_config(settings), image_shape)
    if name == "cppn":
        return CppnEncoding(CppnSettings.from_config(settings), image_shape)
    raise ValueError(f"encoding '{name}' not one of direct, cppn")

"""Fooling images by evolution: MAP-Elites with one elite per class (Nguyen, Yosinski, Clune).

The archive holds one elite per target class; an image's fitness for class
``c`` is the network's probability of ``c`` (minus ``penalty_weight`` times an
optional per-image penalty, e.g. an autoencoder's reconstruction error for an
attack that must also evade a detector). Every generation, ``population_size``
parents are drawn uniformly from the archive's cells, paired, crossed over and
mutated by the encoding (the authors' Sferes ``MapElite::epoch``), and the
whole offspring population is rendered and scored in one batched, compiled
forward pass; an offspring replaces the elite of every class for
which it is the generation's best and *strictly* fitter than the elite (as in
the paper: "replaces the current champion for any objective if the new
individual has higher fitness on that objective"). Generation 0 is a random
population from which every class takes its first elite.

Recorded per class: the elite's confidence (its probability of the class)
after every generation, its image every ``snapshot_every`` generations, and
the first generation at which it reaches each threshold (99%, 99.9%, 99.99%;
-1 = never).

Reproducibility: all randomness comes from one NumPy generator seeded with
``seed``; the forward pass uses TensorFlow's deterministic kernels on a
batch of fixed size, so a seeded run gives the same bits every time. Every
``checkpoint_every`` generations the complete state (archive, records,
generator state) is handed to ``on_checkpoint``; a run given that state as
``resume`` continues exactly as the uninterrupted run would (the caller
writes and reads the file: attacks do no I/O).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import tensorflow as tf

from fooled.attacks.base import Penalty, checkpoint_due
from fooled.attacks.encodings import Encoding, Genomes, put, take
from fooled.core.progress import Progress
from fooled.core.settings import config_fields
from fooled.models.handle import ModelHandle


@dataclass(frozen=True)
class EvolutionSettings:
    """MAP-Elites settings (config keys of the same names; defaults in the study schema)."""

    population_size: int
    generations: int
    thresholds: tuple[float, ...]
    checkpoint_every: int
    snapshot_every: int
    penalty_weight: float

    def __post_init__(self) -> None:
        if self.population_size < 1 or self.generations < 0:
            raise ValueError("population_size must be >= 1 and generations >= 0")
        if self.checkpoint_every < 0 or self.snapshot_every < 0:
            raise ValueError("checkpoint_every and snapshot_every must be >= 0 (0: never)")
        if not self.thresholds or any(not 0.0 < t < 1.0 for t in self.thresholds):
            raise ValueError(f"thresholds {self.thresholds} must be probabilities in (0, 1)")
        object.__setattr__(self, "thresholds", tuple(float(t) for t in self.thresholds))

    @classmethod
    def from_config(cls, settings: Mapping[str, Any]) -> EvolutionSettings:
        return cls(**config_fields(cls, settings, "evolution"))


def threshold_crossings(history: np.ndarray, thresholds: Sequence[float]) -> np.ndarray:
    """``(len(thresholds), K)`` int64: the first row of ``history`` (rows x K) at or above each.

    -1 where a column never reaches the threshold. Probabilities are compared
    in float64, so a float32 value just below 0.9999 does not pass 99.99%.
    """
    history = np.asarray(history, np.float64)
    out = np.full((len(thresholds), history.shape[1]), -1, np.int64)
    for row, threshold in enumerate(thresholds):
        passed = history >= threshold
        first = passed.argmax(axis=0)
        out[row] = np.where(passed.any(axis=0), first, -1)
    return out


@dataclass
class EvolutionState:
    """Everything a run needs to continue after ``generation`` (a checkpoint's content)."""

    seed: int
    generation: int
    archive: Genomes
    elite_fitness: np.ndarray
    elite_confidence: np.ndarray
    history: np.ndarray
    snapshots: np.ndarray  # (S, K, *image_shape): the elites every snapshot_every generations
    evaluations: int
    rng_state: dict[str, Any]

    @property
    def completed(self) -> int:
        """Generations done (the attack's resumable-state contract, :mod:`fooled.attacks.base`)."""
        return self.generation

    def arrays(self) -> dict[str, np.ndarray]:
        """The state as named arrays (an HDF5 checkpoint's datasets)."""
        arrays = {f"archive/{key}": values for key, values in self.archive.items()}
        arrays["elite_fitness"] = self.elite_fitness
        arrays["elite_confidence"] = self.elite_confidence
        arrays["confidence_history"] = self.history
        arrays["elite_snapshots"] = self.snapshots
        return arrays

    def attrs(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "generation": self.generation,
            "evaluations": self.evaluations,
            "rng_state": json.dumps(self.rng_state, sort_keys=True),
        }

    @classmethod
    def from_arrays(
        cls, arrays: Mapping[str, np.ndarray], attrs: Mapping[str, Any]
    ) -> EvolutionState:
        """The inverse of :meth:`arrays` and :meth:`attrs`."""
        archive = {
            key[len("archive/") :]: np.array(values)
            for key, values in arrays.items()
            if key.startswith("archive/")
        }
        rng_state = attrs["rng_state"]
        return cls(
            seed=int(attrs["seed"]),
            generation=int(attrs["generation"]),
            archive=archive,
            elite_fitness=np.array(arrays["elite_fitness"]),
            elite_confidence=np.array(arrays["elite_confidence"]),
            history=np.array(arrays["confidence_history"]),
            snapshots=np.array(arrays["elite_snapshots"]),
            evaluations=int(attrs["evaluations"]),
            rng_state=json.loads(rng_state) if isinstance(rng_state, str) else dict(rng_state),
        )


@dataclass
class EvolutionResult:
    """A run's outcome. ``K`` target classes, ``G`` generations (row 0 = the random start)."""

    classes: np.ndarray  # (K,) int64, the class of each archive cell
    elites: np.ndarray  # (K, *image_shape) float32 in the attack's pixel range
    elite_confidence: np.ndarray  # (K,) float32: probability of the cell's class
    elite_fitness: np.ndarray  # (K,) float32: confidence - penalty_weight * penalty
    elite_predicted: np.ndarray  # (K,) int64: the network's top class for each elite
    confidence_history: np.ndarray  # (G + 1, K) float32: elite confidence after each generation
    elite_snapshots: np.ndarray  # (S, K, *image_shape) float32: the elites at snapshot_generations
    snapshot_generations: np.ndarray  # (S,) int64: 0, snapshot_every, 2 snapshot_every, ...
    threshold_generation: np.ndarray  # (T, K) int64: first generation at each threshold, -1 never
    thresholds: tuple[float, ...]
    elite_genomes: Genomes
    generations: int
    evaluations: int
    resumed_from: int  # generation the run resumed after (0 = from scratch)
    seconds: float  # this process's time in the loop (not comparable across a resume)


class MapElites:
    """The evolutionary fooling attack, configured once: ``run(model, seed, classes)``.

    ``encoding`` renders genomes to ``[0, 1]``; images reach the model scaled to
    ``[low, high]`` (MNIST: 0-1, VGG-16: 0-255). ``penalty`` (optional) maps a
    batch of images (pixel range, image shape) to a per-image cost; fitness is
    probability minus ``settings.penalty_weight`` times it.
    """

    State = EvolutionState  # what ``resume`` and ``on_checkpoint`` carry

    def __init__(
        self,
        settings: EvolutionSettings,
        encoding: Encoding,
        low: float = 0.0,
        high: float = 1.0,
        penalty: Penalty | None = None,
    ) -> None:
        self.settings = settings
        self.encoding = encoding
        self.low = float(low)
        self.high = float(high)
        self.penalty = penalty

    def images(self, genomes: Mapping[str, np.ndarray]) -> np.ndarray:
        """Genomes as images in the attack's pixel range."""
        unit = self.encoding.render(genomes)
        if self.low == 0.0 and self.high == 1.0:
            return unit
        return (unit * np.float32(self.high - self.low) + np.float32(self.low)).astype(np.float32)

    def _scorer(self, model: ModelHandle) -> Callable[..., Any]:
        shape = self.encoding.image_shape
        penalty = self.penalty

        def build() -> Callable[..., Any]:
            @tf.function(
                input_signature=[tf.TensorSpec([None, *shape], tf.float32)], autograph=False
            )
            def score(images: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
                probabilities = model.probabilities(images)
                if penalty is None:
                    cost = tf.zeros([tf.shape(images)[0]], tf.float32)
                else:
                    cost = tf.reshape(tf.cast(penalty(images), tf.float32), [-1])
                return probabilities, cost

            return score

        return model.compiled(("map_elites", shape, penalty), build)

    def run(
        self,
        model: ModelHandle,
        inputs: int,
        targets: Sequence[int] | None = None,
        *,
        resume: EvolutionState | None = None,
        on_checkpoint: Callable[[EvolutionState], None] | None = None,
        progress: Progress | None = None,
    ) -> EvolutionResult:
        """Evolve one elite per class of ``targets`` (None: every class of the model).

        ``inputs`` is the seed of the one generator that draws generation 0
        and every variation (the attack's inputs are drawn, not given).
        ``resume`` continues a run from its state; ``on_checkpoint`` receives
        the state every ``settings.checkpoint_every`` generations; ``progress``
        is advanced once per generation.
        """
        settings = self.settings
        seed = int(inputs)
        targets = np.arange(model.n_classes) if targets is None else np.asarray(targets)
        targets = targets.astype(np.int64)
        if targets.size == 0 or targets.min() < 0 or targets.max() >= model.n_classes:
            raise ValueError(f"classes {targets.tolist()} not within the model's {model.n_classes}")
        n_cells = len(targets)
        cells = np.arange(n_cells)
        score = self._scorer(model)
        weight = np.float32(settings.penalty_weight)

        def evaluate(genomes: Genomes) -> tuple[np.ndarray, np.ndarray]:
            probabilities, cost = score(tf.constant(self.images(genomes)))
            confidence = np.asarray(probabilities)[:, targets]
            fitness = confidence - weight * np.asarray(cost)[:, None]
            return confidence.astype(np.float32), fitness.astype(np.float32)

        history = np.zeros((settings.generations + 1, n_cells), np.float32)
        every = settings.snapshot_every
        snapshot_generations = (
            np.arange(0, settings.generations + 1, every, dtype=np.int64)
            if every
            else np.zeros(0, np.int64)
        )
        snapshots = np.zeros(
            (len(snapshot_generations), n_cells, *self.encoding.image_shape), np.float32
        )
        started = time.perf_counter()
        if resume is None:
            rng = np.random.default_rng(seed)
            population = self.encoding.random(rng, settings.population_size)
            confidence, fitness = evaluate(population)
            best = fitness.argmax(axis=0)
            archive = take(population, best)
            elite_fitness = fitness[best, cells]
            elite_confidence = confidence[best, cells]
            history[0] = elite_confidence
            if every:
                snapshots[0] = self.images(archive)
            evaluations, first = settings.population_size, 1
            resumed_from = 0
        else:
            if resume.seed != seed or resume.elite_fitness.shape != (n_cells,):
                raise ValueError(
                    f"checkpoint of seed {resume.seed} with {resume.elite_fitness.shape[0]} "
                    f"classes cannot resume seed {seed} with {n_cells}"
                )
            if resume.generation > settings.generations:
                raise ValueError(
                    f"checkpoint at generation {resume.generation} is past the run's "
                    f"{settings.generations} generations"
                )
            rng = np.random.default_rng()
            rng.bit_generator.state = resume.rng_state
            archive = {key: np.array(values) for key, values in resume.archive.items()}
            elite_fitness = np.array(resume.elite_fitness, np.float32)
            elite_confidence = np.array(resume.elite_confidence, np.float32)
            history[: resume.generation + 1] = resume.history[: resume.generation + 1]
            snapshots[: len(resume.snapshots)] = resume.snapshots
            evaluations, first = resume.evaluations, resume.generation + 1
            resumed_from = resume.generation
        if progress is not None and resumed_from:
            progress.restart_at(resumed_from)

        for generation in range(first, settings.generations + 1):
            parents = rng.integers(n_cells, size=settings.population_size)
            children = self.encoding.crossover(take(archive, parents), rng)
            offspring = self.encoding.mutate(children, rng, generation)
            confidence, fitness = evaluate(offspring)
            evaluations += settings.population_size
            best = fitness.argmax(axis=0)
            best_fitness = fitness[best, cells]
            improved = np.flatnonzero(best_fitness > elite_fitness)
            if improved.size:
                put(archive, improved, offspring, best[improved])
                elite_fitness[improved] = best_fitness[improved]
                elite_confidence[improved] = confidence[best[improved], improved]
            history[generation] = elite_confidence
            if every and generation % every == 0:
                snapshots[generation // every] = self.images(archive)
            if progress is not None:
                progress.update(
                    1,
                    median_confidence=float(np.median(elite_confidence)),
                    classes_at_top=int((elite_confidence >= settings.thresholds[-1]).sum()),
                )
            if checkpoint_due(
                on_checkpoint, generation, settings.checkpoint_every, settings.generations
            ):
                on_checkpoint(
                    EvolutionState(
                        seed=seed,
                        generation=generation,
                        archive={key: values.copy() for key, values in archive.items()},
                        elite_fitness=elite_fitness.copy(),
                        elite_confidence=elite_confidence.copy(),
                        history=history[: generation + 1].copy(),
                        snapshots=snapshots[: generation // every + 1].copy()
                        if every
                        else snapshots.copy(),
                        evaluations=evaluations,
                        rng_state=rng.bit_generator.state,
                    )
                )
        seconds = time.perf_counter() - started

        elites = self.images(archive)
        probabilities, _ = score(tf.constant(elites))
        return EvolutionResult(
            classes=targets,
            elites=elites,
            elite_confidence=elite_confidence,
            elite_fitness=elite_fitness,
            elite_predicted=np.asarray(probabilities).argmax(axis=1).astype(np.int64),
            confidence_history=history,
            elite_snapshots=snapshots,
            snapshot_generations=snapshot_generations,
            threshold_generation=threshold_crossings(history, settings.thresholds),
            thresholds=settings.thresholds,
            elite_genomes=archive,
            generations=settings.generations,
            evaluations=evaluations,
            resumed_from=resumed_from,
            seconds=seconds,
        )

"""MAP-Elites fooling attack: bookkeeping, replacement rule, reproducibility, resume, VGG-16."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from fooling_support import small_lenet

from fooled.attacks.encodings import make_encoding
from fooled.attacks.evolution import (
    EvolutionSettings,
    EvolutionState,
    MapElites,
    threshold_crossings,
)
from fooled.core.config import schema_defaults
from fooled.models.handle import ModelHandle
from fooled.models.vgg16 import build_model

DEFAULTS = schema_defaults("studies/fooling.schema.yaml", "defaults", "evolve")
THRESHOLDS = (0.99, 0.999, 0.9999)


def attack(encoding: str, shape=(28, 28), low=0.0, high=1.0, penalty=None, **changes) -> MapElites:
    settings = {**DEFAULTS, "population_size": 16, "generations": 12, **changes}
    return MapElites(
        EvolutionSettings.from_config(settings),
        make_encoding(encoding, settings[encoding], shape),
        low=low,
        high=high,
        penalty=penalty,
    )


def brightness_model(scale: float) -> ModelHandle:
    """A real Keras net with two classes: logits +scale and -scale times the mean pixel."""
    inputs = keras.Input((784,))
    logits = keras.layers.Dense(2, name="logits")(inputs)
    model = keras.Model(inputs, keras.layers.Softmax()(logits))
    kernel = np.zeros((784, 2), np.float32)
    kernel[:, 0], kernel[:, 1] = scale / 784, -scale / 784
    model.get_layer("logits").set_weights([kernel, np.zeros(2, np.float32)])
    return ModelHandle(model)


def test_threshold_crossings_first_generation_or_minus_one():
    history = np.array(
        [[0.5, 0.98, 0.1], [0.995, 0.999, 0.2], [0.9, 0.99995, 0.3], [0.99995, 1.0, 0.4]],
        np.float32,
    )
    crossings = threshold_crossings(history, THRESHOLDS)
    assert crossings.tolist() == [[1, 1, -1], [3, 1, -1], [3, 2, -1]]
    # float32 just below 99.99% does not pass it
    just_below = np.array([[np.nextafter(np.float32(0.9999), np.float32(0))]], np.float32)
    assert threshold_crossings(just_below, [0.9999]).tolist() == [[-1]]


def test_elites_are_replaced_only_when_fitness_improves():
    model = brightness_model(scale=8.0)
    states: list[EvolutionState] = []
    result = attack("direct", generations=15, checkpoint_every=1).run(
        model, 0, on_checkpoint=states.append
    )
    fitness = np.stack([state.elite_fitness for state in states] + [result.elite_fitness])
    assert (np.diff(fitness, axis=0) >= 0).all()  # an elite never gets worse
    archives = [state.archive["pixels"] for state in states] + [result.elite_genomes["pixels"]]
    for before, after, old, new in zip(archives, archives[1:], fitness, fitness[1:], strict=False):
        changed = (before != after).any(axis=1)
        assert np.array_equal(changed, new > old)  # replaced exactly where strictly fitter
    assert fitness[-1, 0] > fitness[0, 0] and fitness[-1, 1] > fitness[0, 1]
    # brighter images for class 0, darker for class 1
    assert result.elites[0].mean() > 0.5 > result.elites[1].mean()
    assert np.allclose(result.confidence_history[-1], result.elite_confidence)


def test_ties_never_replace_an_elite():
    model = brightness_model(scale=0.0)  # every image scores exactly 0.5 for both classes
    states: list[EvolutionState] = []
    result = attack("direct", generations=6, checkpoint_every=1).run(
        model, 1, on_checkpoint=states.append
    )
    assert np.array_equal(states[0].archive["pixels"], result.elite_genomes["pixels"])
    assert (result.confidence_history == 0.5).all()
    assert (result.threshold_generation == -1).all()


@pytest.mark.exactness
@pytest.mark.parametrize("encoding", ["direct", "cppn"])
def test_seeded_runs_are_bit_identical_and_resume_identically(encoding):
    model = small_lenet()
    whole = attack(encoding, checkpoint_every=4).run(model, 5)
    again = attack(encoding, checkpoint_every=4).run(model, 5)
    other = attack(encoding, checkpoint_every=4).run(model, 6)
    for key in whole.elite_genomes:
        assert np.array_equal(whole.elite_genomes[key], again.elite_genomes[key])
    assert np.array_equal(whole.confidence_history, again.confidence_history)
    assert whole.snapshot_generations.tolist() == [0, 10]  # snapshot_every 10, 12 generations
    assert np.array_equal(whole.elite_snapshots, again.elite_snapshots)
    assert not np.array_equal(whole.confidence_history, other.confidence_history)

    class Killed(Exception):
        pass

    saved: list[EvolutionState] = []

    def kill_after_second_checkpoint(state: EvolutionState) -> None:
        saved.append(EvolutionState.from_arrays(state.arrays(), state.attrs()))  # as from HDF5
        if len(saved) == 2:
            raise Killed

    with pytest.raises(Killed):
        attack(encoding, checkpoint_every=4).run(
            model, 5, on_checkpoint=kill_after_second_checkpoint
        )
    assert saved[-1].generation == 8
    resumed = attack(encoding, checkpoint_every=4).run(model, 5, resume=saved[-1])
    assert resumed.resumed_from == 8 and resumed.evaluations == whole.evaluations
    assert np.array_equal(resumed.elites, whole.elites)
    assert np.array_equal(resumed.elite_snapshots, whole.elite_snapshots)
    assert np.array_equal(resumed.confidence_history, whole.confidence_history)
    assert np.array_equal(resumed.threshold_generation, whole.threshold_generation)
    for key in whole.elite_genomes:
        assert np.array_equal(resumed.elite_genomes[key], whole.elite_genomes[key])
    with pytest.raises(ValueError, match="cannot resume"):
        attack(encoding).run(model, 9, resume=saved[-1])


@pytest.mark.parametrize("encoding", ["direct", "cppn"])
def test_evolution_fools_a_real_lenet(encoding):
    model = small_lenet()  # one epoch on 2,000 digits: fooled more slowly than the full LeNet
    result = attack(encoding, population_size=60, generations=60).run(model, 0)
    assert result.elites.shape == (10, 28, 28) and result.classes.tolist() == list(range(10))
    assert 0.0 <= result.elites.min() and result.elites.max() <= 1.0
    history = result.confidence_history
    assert (np.diff(history, axis=0) >= 0).all()
    if encoding == "cppn":
        assert np.median(result.elite_confidence) > 0.98
        assert (result.threshold_generation[0] >= 0).sum() >= 5
    else:  # from uniform noise, which the network gives no class
        assert np.median(history[0]) < 0.3
        assert np.median(result.elite_confidence) > np.median(history[0]) + 0.3
    top = result.elite_confidence >= 0.5
    assert (result.elite_predicted[top] == result.classes[top]).all()


def test_penalty_lowers_what_it_penalises():
    model = small_lenet()
    plain = attack("cppn", generations=15).run(model, 2, [3, 7])
    brightness = lambda images: tf.reduce_mean(images, axis=[1, 2])  # noqa: E731
    penalised = attack("cppn", generations=15, penalty_weight=2.0, penalty=brightness).run(
        model, 2, [3, 7]
    )
    assert penalised.elites.mean() < plain.elites.mean() - 0.1
    expected = penalised.elite_confidence - 2.0 * penalised.elites.mean(axis=(1, 2))
    np.testing.assert_allclose(penalised.elite_fitness, expected, atol=1e-5)


def test_both_encodings_run_on_a_small_vgg16_for_imagenet_classes():
    model = ModelHandle(build_model("vgg16", "random", input_size=32, seed=0), preprocess="vgg16")
    for encoding in ("direct", "cppn"):
        result = attack(
            encoding, shape=(32, 32, 3), low=0.0, high=255.0, population_size=4, generations=2
        ).run(model, 0, [1, 500, 999])
        assert result.elites.shape == (3, 32, 32, 3)
        assert 0.0 <= result.elites.min() and result.elites.max() <= 255.0
        assert result.confidence_history.shape == (3, 3)
        assert result.evaluations == 12

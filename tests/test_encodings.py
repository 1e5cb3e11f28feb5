"""The fooling attack's encodings: polynomial mutation, the direct encoding, CPPNs."""

import numpy as np
import pytest
from scipy import stats

from fooled.attacks import encodings
from fooled.attacks.encodings import (
    FUNCTIONS,
    N_INPUTS,
    CppnEncoding,
    CppnSettings,
    DirectEncoding,
    DirectSettings,
    coordinates,
    polynomial_mutation,
    sbx_crossover,
)
from fooled.core.config import schema_defaults

ETA = 15.0


def cppn_settings(**changes) -> CppnSettings:
    defaults = schema_defaults("studies/fooling.schema.yaml", "defaults", "evolve")["cppn"]
    return CppnSettings.from_config({**defaults, **changes})


def delta_cdf(d: np.ndarray, eta: float = ETA) -> np.ndarray:
    """Sferes' polynomial perturbation: density (eta + 1) / 2 (1 - |d|)^eta on [-1, 1]."""
    d = np.asarray(d, np.float64)
    return np.where(d < 0, 0.5 * (1 + d) ** (eta + 1), 1 - 0.5 * (1 - d) ** (eta + 1))


def test_polynomial_mutation_follows_its_distribution():
    rng = np.random.default_rng(0)
    start = np.full(40_000, 0.5, np.float32)  # |delta| > 0.5 has probability 0.5^16: no clipping
    delta = polynomial_mutation(start, rng, rate=1.0, eta=ETA).astype(np.float64) - 0.5
    assert stats.kstest(delta, delta_cdf).pvalue > 0.01
    assert abs(np.abs(delta).mean() - 1 / (ETA + 2)) < 0.002  # E|delta| = 1 / (eta + 2)
    assert abs(delta.mean()) < 0.002


def test_polynomial_mutation_stays_in_bounds_and_mutates_at_its_rate():
    rng = np.random.default_rng(1)
    start = rng.choice(np.array([0.0, 1.0, 0.5], np.float32), size=(200, 784))
    wild = polynomial_mutation(start, rng, rate=1.0, eta=0.0)  # uniform deltas on [-1, 1]
    assert wild.dtype == np.float32 and wild.min() == 0.0 and wild.max() == 1.0
    assert ((wild == 0.0) | (wild == 1.0)).mean() > 0.3  # clipped, not wrapped
    values = rng.random((200, 784), dtype=np.float32)
    mutated = polynomial_mutation(values, rng, rate=0.1, eta=ETA)
    changed = (mutated != values).mean()
    assert abs(changed - 0.1) < 0.005  # 156,800 genes: 5 standard deviations is 0.0038
    assert np.array_equal(values, values.copy())  # the input is not modified


def test_direct_encoding_rate_halves_every_period_and_is_reproducible():
    encoding = DirectEncoding(
        DirectSettings(
            mutation_rate=0.1,
            rate_halving_generations=1000,
            eta=ETA,
            crossover_rate=0.5,
            crossover_eta=10.0,
        ),
        (28, 28),
    )
    assert [encoding.rate(g) for g in (1, 999, 1000, 1999, 2000)] == [
        0.1,
        0.1,
        0.05,
        0.05,
        0.025,
    ]
    genomes = encoding.random(np.random.default_rng(3), 5)
    assert genomes["pixels"].shape == (5, 784) and 0 <= genomes["pixels"].min()
    images = encoding.render(genomes)
    assert images.shape == (5, 28, 28) and images.max() <= 1.0
    first = encoding.mutate(genomes, np.random.default_rng(4), 1)
    second = encoding.mutate(genomes, np.random.default_rng(4), 1)
    assert np.array_equal(first["pixels"], second["pixels"])


def test_sbx_crossover_keeps_the_parents_mean_and_the_bounds():
    rng = np.random.default_rng(5)
    first = rng.uniform(0.3, 0.7, (50, 784)).astype(np.float32)
    second = rng.uniform(0.3, 0.7, (50, 784)).astype(np.float32)
    second[:, :10] = first[:, :10]  # genes the parents share are copied
    one, two = sbx_crossover(first, second, rng, eta=10.0)
    assert one.dtype == np.float32 and 0 <= min(one.min(), two.min())
    assert max(one.max(), two.max()) <= 1
    # not clipped: the mean is kept (up to the bounded SBX's two slightly different spreads)
    inside = (one > 0) & (one < 1) & (two > 0) & (two < 1)
    np.testing.assert_allclose((one + two)[inside], (first + second)[inside], atol=1e-3)
    assert np.array_equal(one[:, :10], first[:, :10]) and np.array_equal(
        two[:, :10], second[:, :10]
    )
    spread = np.abs(one - two)[:, 10:] / np.abs(first - second)[:, 10:]
    assert 0.8 < np.median(spread) < 1.2  # eta 10: children about as far apart as the parents
    assert not np.array_equal(one, first)


def test_direct_crossover_rate_zero_copies_and_one_crosses_every_pair():
    def encoding(rate: float) -> DirectEncoding:
        settings = DirectSettings(
            mutation_rate=0.1,
            rate_halving_generations=1000,
            eta=ETA,
            crossover_rate=rate,
            crossover_eta=10.0,
        )
        return DirectEncoding(settings, (28, 28))

    parents = encoding(0.0).random(np.random.default_rng(2), 7)
    copied = encoding(0.0).crossover(parents, np.random.default_rng(3))
    assert np.array_equal(copied["pixels"], parents["pixels"])
    crossed = encoding(1.0).crossover(parents, np.random.default_rng(3))["pixels"]
    assert all(not np.array_equal(crossed[i], parents["pixels"][i]) for i in range(6))
    assert np.array_equal(crossed[6], parents["pixels"][6])  # the odd one out is copied


def one_connection_genome(encoding: CppnEncoding) -> dict:
    genomes = {
        "weights": np.zeros((1, encoding.n_sources, encoding.n_destinations), np.float32),
        "connected": np.zeros((1, encoding.n_sources, encoding.n_destinations), bool),
        "functions": np.zeros((1, encoding.n_destinations), np.int8),
        "n_hidden": np.zeros(1, np.int16),
    }
    return genomes


def test_cppn_renders_its_formula_for_fixed_genes():
    encoding = CppnEncoding(cppn_settings(max_hidden_nodes=4), (6, 5))
    x = coordinates(6, 5)[:, 0].reshape(6, 5)
    d = coordinates(6, 5)[:, 2].reshape(6, 5)
    output = encoding.n_hidden_max  # the output's destination column
    genomes = one_connection_genome(encoding)
    genomes["connected"][0, 0, output] = True  # x -> output, sine
    genomes["weights"][0, 0, output] = 2.5
    np.testing.assert_allclose(encoding.render(genomes)[0], np.abs(np.sin(2.5 * x)), atol=1e-6)

    # d -> hidden 0 (Gaussian) -> output (linear): |clip(b exp(-(a d)^2), -3, 3) / 3|
    genomes = one_connection_genome(encoding)
    genomes["n_hidden"][0] = 1
    genomes["connected"][0, 2, 0] = genomes["connected"][0, N_INPUTS, output] = True
    genomes["weights"][0, 2, 0], genomes["weights"][0, N_INPUTS, output] = 1.7, -9.0
    genomes["functions"][0, 0] = FUNCTIONS.index("gaussian")
    genomes["functions"][0, output] = FUNCTIONS.index("linear")
    expected = np.abs(np.clip(-9.0 * np.exp(-((1.7 * d) ** 2)), -3, 3) / 3)
    first = encoding.render(genomes)
    np.testing.assert_allclose(first[0], expected, atol=1e-6)
    assert np.array_equal(first, encoding.render(genomes))  # same genes, same bits


def evolved_population(encoding: CppnEncoding, n: int = 64, generations: int = 30) -> dict:
    rng = np.random.default_rng(7)
    genomes = encoding.random(rng, n)
    for generation in range(1, generations + 1):
        genomes = encoding.mutate(genomes, rng, generation)
    return genomes


def test_cppn_output_range_shapes_and_structure_after_many_mutations():
    encoding = CppnEncoding(cppn_settings(max_hidden_nodes=6), (12, 10, 3))
    genomes = evolved_population(encoding)
    images = encoding.render(genomes)
    assert images.shape == (64, 12, 10, 3) and images.dtype == np.float32
    assert images.min() >= 0.0 and images.max() <= 1.0 and np.isfinite(images).all()
    assert genomes["n_hidden"].max() >= 3  # nodes were added (add 0.5, remove 0.2 per offspring)
    assert (genomes["n_hidden"] <= 6).all()
    settings = encoding.settings
    for index in range(64):
        connected = genomes["connected"][index]
        allowed = encoding._allowed(int(genomes["n_hidden"][index]))
        assert not (connected & ~allowed).any()  # feed-forward, active nodes only
        assert (np.abs(genomes["weights"][index][connected]) <= settings.weight_range).all()
        assert (genomes["weights"][index][~connected] == 0).all()
    assert set(np.unique(genomes["functions"])) <= set(range(len(FUNCTIONS)))


def reference_render(encoding: CppnEncoding, genomes: dict) -> np.ndarray:
    """A plain float64 forward pass, one genome and one node at a time (no vectorisation)."""
    functions = {
        "sine": np.sin,
        "sigmoid": lambda p: 2.0 / (1.0 + np.exp(-p)) - 1.0,
        "gaussian": lambda p: np.exp(-(p**2)),
        "linear": lambda p: np.clip(p, -3.0, 3.0) / 3.0,
    }
    inputs = encoding.inputs.astype(np.float64)
    images = []
    for index in range(len(genomes["n_hidden"])):
        weights = np.where(genomes["connected"][index], genomes["weights"][index], 0.0)
        nodes = [inputs[:, source] for source in range(N_INPUTS)]
        for slot in range(int(genomes["n_hidden"][index])):
            pre = sum(weights[source, slot] * nodes[source] for source in range(len(nodes)))
            nodes.append(functions[FUNCTIONS[genomes["functions"][index][slot]]](pre))
        channels = []
        for channel in range(encoding.n_outputs):
            column = encoding.n_hidden_max + channel
            pre = sum(weights[source, column] * nodes[source] for source in range(len(nodes)))
            channels.append(functions[FUNCTIONS[genomes["functions"][index][column]]](pre))
        images.append(np.minimum(np.abs(np.stack(channels, axis=-1)), 1.0))
    return np.stack(images).reshape(-1, *encoding.image_shape)


def test_cppn_rendering_matches_a_plain_float64_forward_pass():
    encoding = CppnEncoding(cppn_settings(max_hidden_nodes=6), (9, 7, 3))
    genomes = evolved_population(encoding, 24, 40)
    assert genomes["n_hidden"].max() >= 3
    # float32 against float64: weights up to 10 make sums of tens, and sin() of a sum carries
    # its float32 rounding (~1e-6 relative) into the pixel.
    np.testing.assert_allclose(
        encoding.render(genomes), reference_render(encoding, genomes), rtol=0, atol=1e-4
    )


@pytest.mark.exactness
def test_cppn_mutation_and_chunked_rendering_are_reproducible(monkeypatch):
    """Same genes, same bits, whatever the chunk: rendering uses no BLAS (whose kernels sum
    in an order that depends on the processor and the product's shape), so this holds under
    every OpenBLAS core type (CI runs it with OPENBLAS_CORETYPE=Haswell and unset)."""
    encoding = CppnEncoding(cppn_settings(max_hidden_nodes=5), (16, 16))
    first, second = evolved_population(encoding, 20, 10), evolved_population(encoding, 20, 10)
    for key in first:
        assert np.array_equal(first[key], second[key])
    whole = encoding.render(first)
    for rows in (1, 3, 7):
        monkeypatch.setattr(encodings, "RENDER_CHUNK_VALUES", rows * 256 * encoding.n_sources)
        assert np.array_equal(whole, encoding.render(first)), f"chunks of {rows} genomes"
    reversed_order = {key: values[::-1].copy() for key, values in first.items()}
    assert np.array_equal(whole[::-1], encoding.render(reversed_order))


def test_cppn_add_node_keeps_the_connection_path():
    encoding = CppnEncoding(cppn_settings(max_hidden_nodes=3), (4, 4))
    genomes = one_connection_genome(encoding)
    output = encoding.n_hidden_max
    genomes["connected"][0, 1, output] = True  # y -> output
    genomes["weights"][0, 1, output] = 0.7
    genome = {key: values[0] for key, values in genomes.items()}
    encoding._insert_node(genome, np.random.default_rng(0))
    assert int(genome["n_hidden"]) == 1
    assert not genome["connected"][1, output]
    assert genome["connected"][1, 0] and genome["connected"][N_INPUTS, output]
    assert genome["weights"][1, 0] == genome["weights"][N_INPUTS, output] == pytest.approx(0.7)

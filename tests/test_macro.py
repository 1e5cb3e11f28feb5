"""The macro-level method: composite G, TV, learning-rate schedule, optimiser, checkpoints."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from fooled.attacks import composites
from fooled.core.checkpoints import CheckpointFile
from fooled.core.config import schema_defaults
from fooled.core.progress import Progress

# The authors' schedule (SPEC section 3): the ImageNet macro study's default.
PAPER = schema_defaults("studies/collisions_imagenet.schema.yaml", "defaults", "macro")
PAPER_BOUNDARIES = tuple(PAPER["schedule"]["boundaries"])
PAPER_VALUES = tuple(PAPER["schedule"]["values"])


def _random_problem(seed=0, n_sources=4, size=6, channels=3, units=12):
    rng = np.random.default_rng(seed)
    sources = rng.uniform(0, 255, (n_sources, size, size, channels)).astype(np.float32)
    kernel = tf.constant(rng.normal(0, 0.01, (size * size * channels, units)).astype(np.float32))

    def preact(images):
        return tf.matmul(tf.reshape(images, [tf.shape(images)[0], -1]), kernel) - 0.2

    weights = rng.uniform(0, 1, (n_sources, size, size))
    weights[0, :2, :2] = 0.0  # outside a window
    weights /= weights.sum(axis=0, keepdims=True)
    target = preact(tf.constant(sources[1:2])).numpy()[0]
    return sources, preact, weights, target


def test_composite_matches_numpy_and_is_a_convex_mixture():
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 3, (3, 5, 7, 8)).astype(np.float32)
    sources = rng.uniform(0, 255, (5, 7, 8, 3)).astype(np.float32)
    ours = composites.composite(tf.constant(logits), tf.constant(sources)).numpy()
    weights = np.exp(logits - logits.max(axis=1, keepdims=True))
    weights /= weights.sum(axis=1, keepdims=True)
    expected = np.einsum("nkhw,khwc->nhwc", weights, sources.astype(np.float64))
    np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(composites.composite_numpy(logits, sources), expected, rtol=1e-5)
    control = composites.control_weights(tf.constant(logits)).numpy()
    np.testing.assert_allclose(control.sum(axis=1), 1.0, atol=1e-6)
    assert ours.shape == (3, 7, 8, 3)
    assert np.all(ours >= sources.min(axis=0) - 1e-3) and np.all(ours <= sources.max(axis=0) + 1e-3)


def test_initial_logits_reproduce_the_initial_weights():
    _, _, weights, _ = _random_problem()
    logits = composites.initial_logits(weights)
    assert logits.min() == pytest.approx(composites.LOG_FLOOR)
    recovered = composites.control_weights(tf.constant(logits[None])).numpy()[0]
    np.testing.assert_allclose(recovered, weights, atol=1e-6)


def test_total_variation_matches_numpy():
    rng = np.random.default_rng(2)
    weights = rng.uniform(0, 1, (2, 3, 5, 4)).astype(np.float32)
    expected = np.zeros(2)
    for n in range(2):
        for k in range(3):
            for i in range(5):
                for j in range(4):
                    if i + 1 < 5:
                        expected[n] += abs(weights[n, k, i + 1, j] - weights[n, k, i, j])
                    if j + 1 < 4:
                        expected[n] += abs(weights[n, k, i, j + 1] - weights[n, k, i, j])
    np.testing.assert_allclose(
        composites.total_variation(tf.constant(weights)).numpy(), expected, rtol=1e-5
    )
    assert composites.total_variation(tf.ones((1, 2, 3, 3))).numpy()[0] == 0.0


def test_learning_rate_schedule_is_the_authors():
    steps = np.array(
        [0, 2199, 2200, 3199, 3200, 4700, 6999, 7000, 9000, 11000, 12999, 13000, 19999]
    )
    expected = [0.001, 0.001, 0.01, 0.01, 0.02, 0.04, 0.04, 0.06, 0.08, 0.1, 0.1, 0.01, 0.01]
    np.testing.assert_allclose(
        composites.schedule_numpy(steps, PAPER_BOUNDARIES, PAPER_VALUES), expected
    )
    bounds = tf.constant(PAPER_BOUNDARIES, tf.int32)
    rates = tf.constant(PAPER_VALUES, tf.float32)
    graph = [float(composites.schedule_tf(tf.constant(int(s)), bounds, rates)) for s in steps]
    np.testing.assert_allclose(graph, expected, rtol=1e-6)
    with pytest.raises(ValueError, match="boundaries"):
        _settings(boundaries=(10,), values=(0.1,))
    with pytest.raises(ValueError, match="multiple of chunk_steps"):
        _settings(chunk_steps=300, checkpoint_every=1000)


def test_gradient_flows_to_the_control_logits_only():
    sources, preact, weights, target = _random_problem()
    logits = tf.Variable(composites.initial_logits(weights)[None].repeat(2, axis=0))
    q = tf.Variable(sources)
    with tf.GradientTape(persistent=True) as tape:
        positive, negative, tv = composites.macro_losses(
            logits, q, preact, tf.constant(target), tf.constant([0, 1])
        )
        total = tf.reduce_sum(1000 * positive + negative + 100 * tv)
    gradient_p = tape.gradient(total, logits)
    assert tape.gradient(total, q) is None
    assert np.isfinite(gradient_p.numpy()).all() and np.abs(gradient_p.numpy()).max() > 0


def test_one_step_is_the_moving_average_update():
    sources, preact, weights, target = _random_problem()
    p0 = composites.initial_logits(weights)
    units = [int(u) for u in np.flatnonzero(target < 0)[:2]]
    settings = _settings(
        w_pos=10.0,
        w_neg=1.0,
        w_tv=2.0,
        max_steps=2,
        chunk_steps=2,
        checkpoint_every=0,
        boundaries=PAPER_BOUNDARIES,
        values=PAPER_VALUES,
    )
    finder = composites.MacroCollisionFinder(preact, sources, chunk_steps=2)
    result = finder.find(p0, target, units, settings)
    p = tf.Variable(p0[None].repeat(2, axis=0))
    m = np.zeros(p.shape, np.float32)
    for step in range(2):
        with tf.GradientTape() as tape:
            a, b, c = composites.macro_losses(
                p, sources, preact, tf.constant(target), tf.constant(units)
            )
            total = tf.reduce_sum(10.0 * a + 1.0 * b + 2.0 * c)
        m = 0.99 * m + 0.01 * tape.gradient(total, p).numpy()
        p.assign(p.numpy() - composites.schedule_numpy(step, PAPER_BOUNDARIES, PAPER_VALUES) * m)
    np.testing.assert_allclose(result.logits, p.numpy(), rtol=1e-5, atol=1e-6)
    assert result.loss_pos.shape == (3, 2) and result.steps_run == 2
    np.testing.assert_allclose(
        result.corners, composites.composite_numpy(result.logits, sources), atol=1e-3
    )


def _settings(**overrides):
    values = dict(
        n_corners=3,
        momentum=0.99,
        threshold=5.0,
        w_pos=1000.0,
        w_neg=1.0,
        w_tv=1.0,
        boundaries=(10, 20),
        values=(0.05, 0.5, 0.1),
        max_steps=40,
        chunk_steps=5,
        checkpoint_every=10,
    )
    values.update(overrides)
    return composites.MacroSettings(**values)


class Killed(Exception):
    pass


class KillAt(Progress):
    """Progress that raises at one step: the process dies between two chunks."""

    def __init__(self, step):
        super().__init__(10**6, "test")
        self.kill_step = step

    def update(self, n=1, **metrics):
        super().update(n, **metrics)
        if self.done == self.kill_step:
            raise Killed


@pytest.mark.exactness
def test_checkpoint_kill_and_resume_equals_uninterrupted(tmp_path):
    sources, preact, weights, target = _random_problem()
    p0 = composites.initial_logits(weights)
    units = [int(u) for u in np.flatnonzero(target < 0)[:3]]
    settings = _settings()
    states: list[composites.MacroState] = []
    plain = composites.MacroCollisionFinder(preact, sources, chunk_steps=5).find(
        p0, target, units, settings, on_checkpoint=states.append
    )
    assert plain.checkpoints_written == [10, 20, 30] == [state.completed for state in states]
    assert states[1].traces["loss_pos"].shape == (20, 3)

    # Killed between two chunks after the checkpoint at step 20, resumed from it through a file.
    checkpoint = CheckpointFile.for_job(tmp_path / "b.h5", {"run": "b"}, {})
    with pytest.raises(Killed):
        composites.MacroCollisionFinder(preact, sources, chunk_steps=5).find(
            p0, target, units, settings, on_checkpoint=checkpoint.save, progress=KillAt(25)
        )
    with h5py_file(tmp_path / "b.h5") as handle:
        assert handle.attrs["step"] == 20 and handle["traces/loss_pos"].shape == (20, 3)
    resumed = composites.MacroCollisionFinder(preact, sources, chunk_steps=5).find(
        p0, target, units, settings, resume=checkpoint.load(composites.MacroState)
    )
    assert resumed.resumed_from == 20
    for name in ("logits", "corners", "loss_pos", "loss_neg", "loss_tv", "converged_step"):
        np.testing.assert_array_equal(getattr(plain, name), getattr(resumed, name), err_msg=name)

    # A checkpoint of other settings is not resumed.
    other = CheckpointFile.for_job(tmp_path / "b.h5", {"run": "other"}, {})
    assert other.load(composites.MacroState) is None
    with pytest.raises(ValueError, match="cannot resume"):
        composites.MacroCollisionFinder(preact, sources, chunk_steps=5).find(
            p0, target, units[:2], settings, resume=states[0]
        )


def h5py_file(path):
    import h5py

    return h5py.File(path, "r")


_KILL_SCRIPT = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    sys.path.insert(0, {tests!r})
    from test_macro import _random_problem, _settings
    from fooled.attacks import composites
    from fooled.core.checkpoints import CheckpointFile
    from fooled.core.progress import Progress

    class Slow(Progress):
        def update(self, n=1, **metrics):
            super().update(n, **metrics)
            time.sleep(0.05)

    sources, preact, weights, target = _random_problem()
    units = [int(u) for u in np.flatnonzero(target < 0)[:3]]
    finder = composites.MacroCollisionFinder(preact, sources, chunk_steps=5)
    checkpoint = CheckpointFile.for_job(sys.argv[1], {{"run": "d"}}, {{}})
    result = finder.find(
        composites.initial_logits(weights), target, units, _settings(max_steps=400),
        resume=checkpoint.load(composites.MacroState), on_checkpoint=checkpoint.save,
        progress=Slow(400, "test"),
    )
    np.save(sys.argv[2], result.logits)
    """
)


@pytest.mark.slow
def test_a_killed_process_resumes_to_the_same_bits(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(_KILL_SCRIPT.format(tests=str(Path(__file__).parent)))
    checkpoint = tmp_path / "state.h5"
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
    uninterrupted = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "other.h5"), str(tmp_path / "plain.npy")],
        env=env,
        timeout=300,
    )
    assert uninterrupted.returncode == 0
    process = subprocess.Popen(
        [sys.executable, str(script), str(checkpoint), str(tmp_path / "never.npy")], env=env
    )
    deadline = time.time() + 240
    while not checkpoint.exists() and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert checkpoint.exists() and not (tmp_path / "never.npy").exists()
    resumed = subprocess.run(
        [sys.executable, str(script), str(checkpoint), str(tmp_path / "resumed.npy")],
        env=env,
        timeout=300,
    )
    assert resumed.returncode == 0
    np.testing.assert_array_equal(
        np.load(tmp_path / "plain.npy"), np.load(tmp_path / "resumed.npy")
    )


def test_weight_maps():
    logits = np.zeros((1, 4, 2, 2), np.float32)
    logits[0, 2] = 50.0
    maps = composites.weight_maps(logits)
    np.testing.assert_allclose(maps["weight_max"], 1.0, atol=1e-6)
    assert (maps["weight_argmax"] == 2).all() and maps["weight_entropy"].max() < 1e-6

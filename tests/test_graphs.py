"""Every TensorFlow graph of the package is traced without AutoGraph.

The graphs spell their loops as `tf.while_loop` and branch only on Python values, so
AutoGraph has nothing to convert, yet it transpiles every function it meets: the batched
L-BFGS solver's graph took 3.4 s of AutoGraph per model (5.9 s of a 100-image attack,
2.8 s without), paid by each of the Szegedy study's jobs. A `tf.function` that forgets
`autograph=False` brings that cost back silently; this test names it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "fooled"


def _is_tf_function(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "function"
        and isinstance(node.value, ast.Name)
        and node.value.id == "tf"
    )


def graphs_with_autograph(path: Path) -> list[int]:
    """Lines of ``path`` where ``tf.function`` is used without ``autograph=False``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    called = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _is_tf_function(node.func):
            off = any(
                keyword.arg == "autograph"
                and isinstance(keyword.value, ast.Constant)
                and keyword.value.value is False
                for keyword in node.keywords
            )
            if not off:
                lines.append(node.lineno)
        elif _is_tf_function(node) and id(node) not in called:
            lines.append(node.lineno)  # a bare `@tf.function` or `tf.function` passed along
    return sorted(lines)


def test_the_check_finds_each_way_of_leaving_autograph_on(tmp_path):
    module = tmp_path / "m.py"
    module.write_text(
        "import tensorflow as tf\n"
        "@tf.function\n"
        "def a(x):\n    return x\n"
        "@tf.function(jit_compile=True)\n"
        "def b(x):\n    return x\n"
        "c = tf.function(a, autograph=True)\n"
        "d = tf.function(a, autograph=False)\n"
        "@tf.function(reduce_retracing=True, autograph=False)\n"
        "def e(x):\n    return x\n"
    )
    assert graphs_with_autograph(module) == [2, 5, 8]


def test_no_graph_of_the_package_runs_autograph():
    found = {
        str(path.relative_to(PACKAGE)): lines
        for path in sorted(PACKAGE.rglob("*.py"))
        if (lines := graphs_with_autograph(path))
    }
    assert found == {}, f"tf.function without autograph=False at {found}"


@pytest.mark.parametrize("steps", [0, 1, 3])
def test_the_sign_step_loop_takes_exactly_its_steps(steps):
    """The sign-step loop (a `tf.while_loop` since AutoGraph is off) against the same steps
    written out in NumPy: a linear model's loss gradient in closed form."""
    import tensorflow as tf

    from fooled.attacks.fgsm import projected_sign_steps
    from fooled.models.handle import ModelHandle

    keras = tf.keras
    rng = np.random.default_rng(0)
    inputs = keras.Input((6,))
    model = keras.Model(inputs, keras.layers.Dense(3)(inputs))
    weights = rng.standard_normal((6, 3)).astype(np.float32)
    model.layers[-1].set_weights([weights, np.zeros(3, np.float32)])
    x0 = rng.random((4, 6)).astype(np.float32)
    labels = np.array([0, 1, 2, 0])
    eps, step_size = 0.2, 0.05

    attack = projected_sign_steps(ModelHandle(model), None, "float32")
    found, _ = attack(
        tf.constant(x0),
        tf.constant(x0),
        tf.constant(labels),
        tf.constant(eps),
        tf.constant(step_size),
        tf.constant(steps, tf.int32),
        tf.constant(0.0),
    )

    x = x0.astype(np.float64)
    for _ in range(steps):
        logits = x @ weights
        probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        probabilities[np.arange(len(labels)), labels] -= 1.0  # d CE / d logits
        x = x + step_size * np.sign(probabilities @ weights.T)
        x = np.clip(np.clip(x, x0 - eps, x0 + eps), 0.0, 1.0)
    np.testing.assert_allclose(found.numpy(), x, atol=1e-6)
    assert steps == 0 or not np.allclose(x, x0)

"""Transfer tables on real tiny models: the diagonal is the attack's own success rate."""

import numpy as np
import pytest
from szegedy_data import attack_settings, mnist, trained

from fooled.attacks import lbfgs
from fooled.models.handle import ModelHandle
from fooled.models.mnist_zoo import pixels, predict_classes
from fooled.studies.szegedy import transfer
from fooled.studies.szegedy.stages import attack_image_indices


@pytest.fixture(scope="module")
def models():
    return {
        "A": trained("fc10", 1e-4).model,
        "B": trained("fc100-100-10", [1e-5, 1e-5, 1e-6]).model,
    }


def test_transfer_diagonal_equals_the_attack_success_rate(models):
    data = mnist()
    x = pixels(data["test/images"][:300])
    y = data["test/labels"][:300].astype(np.int64)
    targets = lbfgs.random_targets(y, 10, seed=0)
    correct = {name: predict_classes(model, x) == y for name, model in models.items()}
    # A single solve at a large c fails for part of the images: a diagonal of 100% would
    # not test anything.
    attack = lbfgs.LBFGSAttack(attack_settings(search_steps=1, c_initial=200.0))
    rows, rates = [], {}
    for name, model in models.items():
        chosen = attack_image_indices(y, predict_classes(model, x), 15, image_seed=0)
        result = attack.run(ModelHandle(model), x[chosen], targets[chosen])
        rates[name] = result.success_rate()
        rows.append(
            transfer.attack_rows(
                f"for {name}", chosen, y[chosen], x[chosen], result.adversarial, result.success
            )
        )
    assert any(0.0 < rate < 1.0 for rate in rates.values()), rates
    noise = transfer.noise_rows("noise", np.arange(300), y, x, 0.3, np.random.default_rng(0), True)

    def classifier(model):
        return lambda rows: predict_classes(model, rows)

    classifiers = {name: classifier(model) for name, model in models.items()}
    table = transfer.transfer_table(rows + [noise], classifiers, correct)
    assert table.errors.shape == (3, 2) and table.rows[-1] == "noise"
    for j, name in enumerate(models):
        assert table.errors[j, j] == pytest.approx(rates[name], abs=1e-12)
        assert table.counts[j, j] == 15
    assert 0.0 <= table.errors.min() and table.errors.max() <= 1.0
    assert 0.2 < table.distortion[-1] < 0.3  # noise of 0.3, clipped to the box
    loose = transfer.noise_rows("noise", np.arange(300), y, x, 0.3, np.random.default_rng(0), False)
    assert loose.distortion == pytest.approx(0.3, rel=0.01)


def test_magnified_rows_reach_the_target_distortion_before_clipping():
    rng = np.random.default_rng(0)
    images = np.full((4, 784), 0.5, np.float32)
    adversarial = images + rng.normal(0, 0.02, images.shape).astype(np.float32)
    success = np.array([True, True, True, False])
    row = transfer.attack_rows(
        "for m", np.arange(4), np.zeros(4, int), images, adversarial, success
    )
    np.testing.assert_array_equal(row.examples[3], images[3])  # a failure stays clean
    magnified = transfer.magnified_rows("magnified", row, images, to=0.1)
    achieved = lbfgs.distortion(magnified.examples, images)
    np.testing.assert_allclose(achieved[:3], 0.1, rtol=1e-4)  # mid-grey: nothing clipped
    assert achieved[3] == 0.0
    assert magnified.distortion == pytest.approx(0.1, rel=1e-4)

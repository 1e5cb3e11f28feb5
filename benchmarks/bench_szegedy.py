"""Speed of the Szegedy study's L-BFGS attack: the figures recorded in the README.

Prints, on this machine:

1. per-image time of the batched attack (``fooled.attacks.lbfgs``, the
   independent problems of ``fooled.attacks.box_lbfgs`` in one compiled graph)
   beside a plain one-image-at-a-time SciPy L-BFGS-B loop (``solver: scipy``,
   ``batch_size: 1``), on the same images of FC100-100-10, with the distortions
   each finds (the two should agree);
2. the time for Table 1's distortion column: each of the six paper models
   attacked on ``--n-images`` test images (the paper-scale attack settings of
   ``config/szegedy.yaml``), against the issue's target of 10 minutes for 1,000
   images each.

Models: ``--run DIR``, a workflow run's folder holding the study's models where its layout
puts them (seed 0), else the six are trained here on
``--train-samples`` images for ``--epochs`` epochs (reported separately).
Times are wall-clock seconds (and process CPU seconds) on ``--threads``
TensorFlow threads; run it under ``nice`` on a shared machine.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from fooled.attacks.lbfgs import LBFGSAttack, LBFGSSettings, distortion  # noqa: E402
from fooled.core.config import deep_merge, read_yaml  # noqa: E402
from fooled.data.mnist import download_mnist  # noqa: E402
from fooled.models import mnist_zoo  # noqa: E402
from fooled.models.handle import ModelHandle  # noqa: E402
from fooled.models.runtime import limit_threads, load_model  # noqa: E402
from fooled.studies.szegedy.layout import LAYOUT  # noqa: E402
from fooled.studies.szegedy.settings import load_section  # noqa: E402
from fooled.studies.szegedy.stages import attack_image_indices, test_targets  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TABLE1 = ("fc10_1e-4", "fc10_1e-2", "fc10_1", "fc100-100-10", "fc200-200-10", "ae400-10")
TARGET_SECONDS = 600.0


class Clock:
    def __enter__(self) -> Clock:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


def paper_attack_settings() -> dict:
    """The schema's attack defaults under config/szegedy.yaml's attack section."""
    section, _ = load_section({"experiment_lists": ["config/studies/szegedy/models.yaml"]}, [ROOT])
    paper = read_yaml(ROOT / "config" / "szegedy.yaml")["studies"]["szegedy"]
    return deep_merge(section["attack"], paper.get("attack", {}))


def models(arguments, data) -> dict:
    section, experiments = load_section(
        {"experiment_lists": ["config/studies/szegedy/models.yaml"]}, [ROOT]
    )
    found = {}
    for name in TABLE1:
        settings = experiments[name]
        path = Path(LAYOUT.under(arguments.run or "-").path("model", name=name, seed=0))
        if arguments.run and path.is_file():
            found[name] = load_model(path)
            continue
        training = mnist_zoo.TrainSettings.from_config(
            {
                **settings,
                "seed": 0,
                "max_train_samples": arguments.train_samples,
                "epochs": arguments.epochs,
            }
        )
        with Clock() as clock:
            trained = mnist_zoo.train_model(training, data, section["split_seed"])
        print(
            f"trained {name:14s} on {trained.n_train} images x {training.epochs} epochs: "
            f"test error {trained.test_error:.4f} ({clock.wall:.1f} s)",
            flush=True,
        )
        found[name] = trained.model
    return found


def attack_images(model, data, n_images: int, settings: dict):
    x = mnist_zoo.pixels(data["test/images"])
    y = data["test/labels"].astype(np.int64)
    predicted = mnist_zoo.predict_classes(model, x)
    chosen = attack_image_indices(y, predicted, n_images, int(settings["image_seed"]))
    return x[chosen], test_targets(y, int(settings["target_seed"]))[chosen]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--mnist", default=os.environ.get("MNIST_MIRROR", "/work/shared/data/mnist")
    )
    parser.add_argument("--run", default=None, help="a workflow run's folder (its trained models)")
    parser.add_argument("--train-samples", type=int, default=10000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--n-images", type=int, default=1000, help="images per model (Table 1)")
    parser.add_argument("--n-single", type=int, default=20, help="images for the SciPy loop")
    parser.add_argument("--threads", type=int, default=2)
    arguments = parser.parse_args()
    limit_threads(arguments.threads)
    data, _, _ = download_mnist([arguments.mnist], progress=False)
    settings = paper_attack_settings()
    print(f"attack settings (paper scale): {settings}", flush=True)
    zoo = models(arguments, data)

    # 1. Per image: batched against the plain SciPy loop, on the same images.
    model = zoo["fc100-100-10"]
    handle = ModelHandle(model)
    x, targets = attack_images(model, data, arguments.n_images, settings)
    batched = LBFGSAttack(LBFGSSettings.from_config(settings))
    batched.run(handle, x[:4], targets[:4])  # compile once (a per-model cost, reported below)
    with Clock() as warm:
        result = batched.run(handle, x, targets)
    n = arguments.n_single
    plain = LBFGSAttack(LBFGSSettings.from_config({**settings, "solver": "scipy", "batch_size": 1}))
    with Clock() as loop:
        reference = plain.run(handle, x[:n], targets[:n])
    both = result.success[:n] & reference.success
    gap = (
        np.abs(result.distortion[:n][both] - reference.distortion[both])
        / reference.distortion[both]
    )
    print(
        f"\n1. FC100-100-10, {settings['search_steps']} solves per image:\n"
        f"   batched ({len(x)} images, {settings['batch_size']} slots): "
        f"{1000 * warm.wall / len(x):.1f} ms/image wall, {1000 * warm.cpu / len(x):.1f} ms CPU; "
        f"success {result.success_rate():.3f}, mean distortion {result.mean_distortion():.4f}\n"
        f"   SciPy L-BFGS-B, one image at a time ({n} images): "
        f"{1000 * loop.wall / n:.1f} ms/image wall, {1000 * loop.cpu / n:.1f} ms CPU; "
        f"speed-up {loop.wall / n / (warm.wall / len(x)):.1f}x\n"
        f"   same {n} images: mean distortion batched {np.nanmean(result.distortion[:n]):.4f}, "
        f"SciPy {np.nanmean(reference.distortion):.4f}; largest relative difference "
        f"{gap.max() if gap.size else float('nan'):.2e}",
        flush=True,
    )

    # 2. Table 1's distortion column, every model from a cold start (compilation included).
    print(f"\n2. Table 1's distortion column, {arguments.n_images} test images per model:")
    total_wall = total_cpu = 0.0
    for name in TABLE1:
        model = zoo[name]
        x, targets = attack_images(model, data, arguments.n_images, settings)
        with Clock() as clock:
            result = LBFGSAttack(LBFGSSettings.from_config(settings)).run(
                ModelHandle(model), x, targets
            )
        total_wall += clock.wall
        total_cpu += clock.cpu
        check = distortion(result.adversarial, x)[result.success]
        assert np.allclose(check, result.distortion[result.success], rtol=1e-5)
        print(
            f"   {name:14s} success {result.success_rate():.3f}, mean min. distortion "
            f"{result.mean_distortion():.4f}, {clock.wall:6.1f} s "
            f"({1000 * clock.wall / len(x):.1f} ms/image, CPU {clock.cpu:.1f} s)",
            flush=True,
        )
    print(
        f"   all six: {total_wall:.1f} s wall ({total_cpu:.1f} s CPU); target "
        f"{TARGET_SECONDS:.0f} s for 1,000 images each "
        f"({'met' if total_wall <= TARGET_SECONDS * arguments.n_images / 1000 else 'MISSED'})"
    )


if __name__ == "__main__":
    main()

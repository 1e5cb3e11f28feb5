"""Cross-model (Table 2) and cross-training-set (Tables 3-4) transfer of adversarial examples.

**Which error.** The entry for row ``A`` (examples made for model ``A``, or
noise) and column ``B`` is the share of the row's examples that ``B``
misclassifies, counted over the examples whose *clean* image ``B`` classifies
correctly. Every model is attacked only on test images it classifies
correctly, and where its attack failed the stored example is the clean image,
so the diagonal is exactly the attack's success rate (a test checks it), and
a column's entry measures what the perturbation did, not the model's clean
test error. The paper's noise rows (0% error for FC100-100-10 at stddev 0.1,
below its 1.64% clean error) are consistent with this reading.

**Noise rows**: Gaussian noise of the given stddev added to the clean images;
by default not clipped, as the paper's distortion column (exactly 0.1 and
0.3) suggests. Clipped to ``[0, 1]``, noise on the black background can only
brighten it: measured, stddev 0.3 then has distortion 0.216 and made
FC100-100-10 err on 36% of the images (the paper: 5%). The distortion column
is measured on the examples as fed to the models. **Magnified rows** (Table
4): each successful example's perturbation scaled to distortion
``magnify_to``, then clipped (so slightly less); failed examples stay clean.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from fooled.attacks.lbfgs import distortion

Classifier = Callable[[np.ndarray], np.ndarray]  # rows (k, 784) -> predicted classes (k,)


@dataclass
class ExampleSet:
    """One row of a transfer table: perturbed test images with their true labels."""

    label: str
    test_index: np.ndarray  # (k,) indices into the test set
    labels: np.ndarray  # (k,) true classes
    examples: np.ndarray  # (k, n_pixels) in [0, 1]
    distortion: float  # the row's distortion column (mean over the perturbed examples)


@dataclass
class TransferTable:
    """Errors (rows x columns), how many examples each cell counted, and each row's distortion."""

    rows: list[str]
    columns: list[str]
    errors: np.ndarray
    counts: np.ndarray
    distortion: np.ndarray


def attack_rows(
    label: str,
    test_index: np.ndarray,
    labels: np.ndarray,
    images: np.ndarray,
    adversarial: np.ndarray,
    success: np.ndarray,
) -> ExampleSet:
    """A model's adversarial examples as a row; its distortion is the mean over successes."""
    images = _flat(images)
    adversarial = _flat(adversarial)
    success = np.asarray(success, bool)
    # Failed attacks contribute the clean image (the attack artifact stores it so).
    examples = np.where(success[:, None], adversarial, images)
    sizes = distortion(examples, images)
    mean = float(sizes[success].mean()) if success.any() else float("nan")
    return ExampleSet(label, np.asarray(test_index), np.asarray(labels), examples, mean)


def noise_rows(
    label: str,
    test_index: np.ndarray,
    labels: np.ndarray,
    images: np.ndarray,
    stddev: float,
    rng: np.random.Generator,
    clip: bool,
) -> ExampleSet:
    """Clean images plus Gaussian noise of ``stddev`` (clipped to the box when ``clip``)."""
    images = _flat(images)
    noisy = images + rng.normal(0.0, stddev, images.shape)
    noisy = (np.clip(noisy, 0.0, 1.0) if clip else noisy).astype(np.float32)
    return ExampleSet(
        label,
        np.asarray(test_index),
        np.asarray(labels),
        noisy,
        float(distortion(noisy, images).mean()),
    )


def magnified_rows(label: str, examples: ExampleSet, images: np.ndarray, to: float) -> ExampleSet:
    """A row's perturbations scaled to distortion ``to`` each (then clipped); clean ones stay."""
    images = _flat(images)
    perturbation = examples.examples - images
    sizes = distortion(examples.examples, images)
    moved = sizes > 0
    scale = np.where(moved, to / np.where(moved, sizes, 1.0), 0.0)
    magnified = np.clip(images + perturbation * scale[:, None], 0.0, 1.0).astype(np.float32)
    achieved = distortion(magnified, images)
    mean = float(achieved[moved].mean()) if moved.any() else float("nan")
    return ExampleSet(label, examples.test_index, examples.labels, magnified, mean)


def transfer_table(
    rows: Sequence[ExampleSet],
    classifiers: Mapping[str, Classifier],
    clean_correct: Mapping[str, np.ndarray],
) -> TransferTable:
    """Each column model's error on each row's examples (see the module docstring).

    ``clean_correct[column]`` is a boolean over the whole test set: whether
    that model classifies the clean test image correctly.
    """
    columns = list(classifiers)
    errors = np.full((len(rows), len(columns)), np.nan)
    counts = np.zeros((len(rows), len(columns)), np.int64)
    for i, row in enumerate(rows):
        for j, column in enumerate(columns):
            keep = np.asarray(clean_correct[column])[row.test_index]
            counts[i, j] = int(keep.sum())
            if counts[i, j]:
                predicted = classifiers[column](row.examples[keep])
                errors[i, j] = float((predicted != row.labels[keep]).mean())
    return TransferTable(
        rows=[row.label for row in rows],
        columns=columns,
        errors=errors,
        counts=counts,
        distortion=np.array([row.distortion for row in rows]),
    )


def _flat(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images, np.float32)
    return images.reshape(len(images), -1)

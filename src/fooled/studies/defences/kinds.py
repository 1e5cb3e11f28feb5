"""The registry of input kinds the detector is scored on: where each lies and how to read it.

One entry per kind of input the project makes: clean test images and
Gaussian noise (made here), this study's FGSM and PGD examples, the Szegedy study's
L-BFGS examples, the fooling study's evolved and gradient-ascent images, and
the collision study's micro- and macro-level corners and their
interpolations. Every reader returns :class:`InputSet` rows of ``(n, 28, 28)``
float32 images in [0, 1]; a kind whose artifacts are not in the run is
skipped with a reason, never an error (:func:`collect`).

Where a kind's artifacts lie is not this module's business: the study's layout
(:mod:`fooled.studies.defences.layout`) names what it reads from the other
studies, and the workflow (or a benchmark, through the study registry) hands
each kind its files.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fooled.core.h5io import ArtifactError, open_artifact, read_arrays, read_attrs

IMAGE_SHAPE = (28, 28)
PIXEL_TOLERANCE = 1e-4  # float32 round-off allowed outside [0, 1]


@dataclass
class InputSet:
    """One row of the detection table: images of one kind (and variant)."""

    name: str
    kind: str
    label: str
    images: np.ndarray
    sources: list[str] = field(default_factory=list)
    note: str = ""
    settings: dict[str, float | str] = field(default_factory=dict)  # as numbers: {"epsilon": 0.25}


@dataclass(frozen=True)
class Context:
    """What the readers need: the clean images, noise sizes, sampling, and for each
    interpolation file the collide file of its corners (``corners_of``)."""

    clean: np.ndarray
    noise_stddevs: tuple[float, ...]
    seed: int
    max_per_set: int
    corners_of: Mapping[str, str] = field(default_factory=dict)


Reader = Callable[[Sequence[str], Context], list[InputSet]]


@dataclass(frozen=True)
class InputKind:
    """A kind of input: its name, row label, the study making it, whether it reads files."""

    name: str
    label: str
    made_by: str
    needs_files: bool
    read: Reader


# ----------------------------------------------------------------------------- helpers


class NotMnistImages(ArtifactError):
    """An artifact holds images of another size (an ImageNet run of the same attack)."""


def is_mnist_shape(shape: tuple[int, ...]) -> bool:
    """Whether a dataset of this shape holds MNIST images: (..., 28, 28[, 1]) or (..., 784)."""
    shape = tuple(shape)
    if shape[-1:] == (1,) and len(shape) >= 3:
        shape = shape[:-1]
    return shape[-2:] == IMAGE_SHAPE or shape[-1:] == (IMAGE_SHAPE[0] * IMAGE_SHAPE[1],)


def as_images(array: np.ndarray, path: str, dataset: str) -> np.ndarray:
    """``array`` as (n, 28, 28) float32 pixels in [0, 1], or a one-line error naming the file."""
    array = np.asarray(array)
    if not is_mnist_shape(array.shape):
        raise NotMnistImages(
            f"{path}: dataset '{dataset}' of shape {array.shape} does not hold 28x28 images"
        )
    images = array.astype(np.float32).reshape(-1, *IMAGE_SHAPE)
    if images.size and (images.min() < -PIXEL_TOLERANCE or images.max() > 1 + PIXEL_TOLERANCE):
        raise ArtifactError(
            f"{path}: dataset '{dataset}' holds values in "
            f"[{images.min():.3g}, {images.max():.3g}], not pixels in [0, 1]"
        )
    return np.clip(images, 0.0, 1.0)


def subsample(images: np.ndarray, limit: int, seed: int) -> np.ndarray:
    """At most ``limit`` images, a seeded sample in their original order."""
    if len(images) <= limit:
        return images
    chosen = np.sort(np.random.default_rng(seed).choice(len(images), limit, replace=False))
    return images[chosen]


def mnist_files(paths: Sequence[str], dataset: str) -> tuple[list[str], list[str]]:
    """The files whose ``dataset`` holds MNIST images, and a note for each other one.

    The fooling study runs the same attacks on ImageNet models; their
    artifacts may lie beside the MNIST ones and are left out, not an error.
    """
    kept, notes = [], []
    for path in paths:
        with open_artifact(path) as handle:
            if dataset not in handle:
                raise ArtifactError(f"{path}: dataset '{dataset}' is missing")
            shape = handle[dataset].shape
        if is_mnist_shape(shape):
            kept.append(path)
        else:
            notes.append(f"left out {Path(path).name} (images of shape {shape[1:]}, not MNIST)")
    return kept, notes


def _stem(path: str) -> str:
    return Path(path).name.removesuffix(".h5")


def _tag(value: float) -> str:
    return f"{value:g}"


# ----------------------------------------------------------------------------- readers


def read_clean(paths: Sequence[str], context: Context) -> list[InputSet]:
    return [InputSet("clean", "clean", "clean test images", context.clean, note="the negatives")]


def read_noise(paths: Sequence[str], context: Context) -> list[InputSet]:
    """Clean test images plus Gaussian noise of each standard deviation, clipped to [0, 1]."""
    sets = []
    for position, stddev in enumerate(context.noise_stddevs):
        rng = np.random.default_rng([context.seed, position])
        noisy = context.clean + rng.normal(0.0, stddev, context.clean.shape).astype(np.float32)
        sets.append(
            InputSet(
                f"noise_{_tag(stddev)}",
                "noise",
                f"Gaussian noise, stddev {_tag(stddev)}",
                np.clip(noisy, 0.0, 1.0).astype(np.float32),
                note="added to the clean test images, clipped to [0, 1]",
                settings={"stddev": float(stddev)},
            )
        )
    return sets


def _gradient_attack_reader(kind: str, label: str) -> Reader:
    """A reader of this study's FGSM or PGD artifacts: one row per epsilon (and per file
    when there are several)."""

    def read(paths: Sequence[str], context: Context) -> list[InputSet]:
        sets = []
        for path in paths:
            arrays = read_arrays(path, ["epsilons", "adversarial"])
            prefix = "" if len(paths) == 1 else f"{_stem(path)}_"
            for eps, adversarial in zip(arrays["epsilons"], arrays["adversarial"], strict=True):
                sets.append(
                    InputSet(
                        f"{kind}_{prefix}eps{_tag(eps)}",
                        kind,
                        f"{label}, eps {_tag(eps)}" + (f" ({_stem(path)})" if prefix else ""),
                        as_images(adversarial, path, "adversarial"),
                        [path],
                        settings={"epsilon": float(eps)},
                    )
                )
        return sets

    return read


read_fgsm = _gradient_attack_reader("fgsm", "FGSM")
read_pgd = _gradient_attack_reader("pgd", "PGD")


def _named(path: str, key: str) -> str:
    """What an artifact says it is (its attribute ``key``: the model, the experiment), never
    what its file is called: the other studies name their files as their layouts say."""
    value = read_attrs(path).get(key)
    return str(value) if value not in (None, "") else _stem(path)


def read_lbfgs(paths: Sequence[str], context: Context) -> list[InputSet]:
    """The Szegedy study's L-BFGS examples (the successful ones), one row per attacked model
    (its seeds pooled)."""
    groups: dict[str, list[str]] = {}
    for path in mnist_files(paths, "adversarial")[0]:
        groups.setdefault(_named(path, "model"), []).append(path)
    sets = []
    for model, members in groups.items():
        images, kept, total = [], 0, 0
        for path in members:
            with open_artifact(path) as handle:
                has_success = "success" in handle
            names = ["adversarial", "success"] if has_success else ["adversarial"]
            arrays = read_arrays(path, names)
            found = as_images(arrays["adversarial"], path, "adversarial")
            success = (
                np.asarray(arrays["success"], bool).reshape(-1)
                if has_success
                else np.ones(len(found), bool)
            )
            images.append(found[success])
            kept, total = kept + int(success.sum()), total + len(success)
        seeds = f"{len(members)} seeds pooled; " if len(members) > 1 else ""
        sets.append(
            InputSet(
                f"lbfgs_{model}",
                "lbfgs",
                f"L-BFGS adversarial ({model})",
                np.concatenate(images),
                list(members),
                f"made against {model}; {seeds}the {kept} successful of {total}",
            )
        )
    return sets


def read_evolved(paths: Sequence[str], context: Context) -> list[InputSet]:
    """The fooling study's MAP-Elites elites, one row per model and encoding (runs pooled)."""
    paths, left_out = mnist_files(paths, "elites")
    groups: dict[tuple[str, str], list[str]] = {}
    for path in paths:
        groups.setdefault((_named(path, "model"), _named(path, "encoding")), []).append(path)
    sets = []
    for (model, encoding), members in sorted(groups.items()):
        images = np.concatenate(
            [as_images(read_arrays(p, ["elites"])["elites"], p, "elites") for p in members]
        )
        sets.append(
            InputSet(
                f"evolved_{model}_{encoding}",
                "evolved",
                f"evolved fooling images ({encoding}, {model})",
                images,
                list(members),
                "; ".join([f"{len(members)} run(s) pooled", *left_out]),
            )
        )
    return sets


def read_ascent(paths: Sequence[str], context: Context) -> list[InputSet]:
    """The fooling study's gradient-ascent images, one row per model."""
    paths, left_out = mnist_files(paths, "images")
    return [
        InputSet(
            f"ascent_{_named(path, 'experiment')}",
            "ascent",
            f"gradient-ascent fooling images ({_named(path, 'experiment')})",
            as_images(read_arrays(path, ["images"])["images"], path, "images"),
            [path],
            "; ".join(left_out),
        )
        for path in paths
    ]


def collision_mode(path: str) -> str:
    """``micro`` or ``macro`` (the collide artifact's ``mode`` attribute; micro when absent)."""
    mode = str(read_attrs(path).get("mode", "micro"))
    if mode not in ("micro", "macro"):
        raise ArtifactError(f"{path}: attribute mode '{mode}' is neither micro nor macro")
    return mode


def _by_level(
    rows: list[tuple[str, str, np.ndarray]], kind: str, label: str, note: str
) -> list[InputSet]:
    sets = []
    for level in ("micro", "macro"):
        chosen = [(path, images) for path, mode, images in rows if mode == level]
        if chosen:
            sets.append(
                InputSet(
                    f"{kind}_{level}",
                    kind,
                    f"{level}-level {label}",
                    np.concatenate([images for _, images in chosen]),
                    [path for path, _ in chosen],
                    f"{len(chosen)} experiment(s){note}",
                    {"level": level},
                )
            )
    return sets


def read_collisions(paths: Sequence[str], context: Context) -> list[InputSet]:
    """The collision study's corners, pooled over experiments into a micro and a macro row."""
    rows = [
        (
            path,
            collision_mode(path),
            as_images(read_arrays(path, ["corners"])["corners"], path, "corners"),
        )
        for path in paths
    ]
    return _by_level(rows, "collisions", "feature collisions (corners)", "")


def interpolate(weights: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """Convex combinations ``weights @ corners``: (m, n) x (n, 28, 28) -> (m, 28, 28)."""
    flat = np.asarray(corners, np.float32).reshape(len(corners), -1)
    return (np.asarray(weights, np.float32) @ flat).reshape(len(weights), *IMAGE_SHAPE)


def read_interpolations(paths: Sequence[str], context: Context) -> list[InputSet]:
    """The 2,000 interpolations of each collision experiment, recomputed from the corners."""
    rows = []
    for path in paths:
        source = context.corners_of.get(path)
        if source is None:
            raise ArtifactError(f"{path}: its corners (collide file) are not named")
        if not Path(source).is_file():
            raise ArtifactError(f"{path}: its corners {source} are missing")
        weights = read_arrays(path, ["weights"])["weights"]
        corners = as_images(read_arrays(source, ["corners"])["corners"], source, "corners")
        if weights.ndim != 2 or weights.shape[1] != len(corners):
            raise ArtifactError(
                f"{path}: weights {weights.shape} do not match "
                f"the {len(corners)} corners of {source}"
            )
        rows.append((path, collision_mode(source), interpolate(weights, corners)))
    return _by_level(rows, "interpolations", "interpolations of the corners", ", weights @ corners")


# ----------------------------------------------------------------------------- the registry

KINDS: dict[str, InputKind] = {
    kind.name: kind
    for kind in (
        InputKind("clean", "clean test images", "mnist", False, read_clean),
        InputKind("noise", "Gaussian noise", "defences (score)", False, read_noise),
        InputKind("fgsm", "FGSM", "defences (fgsm)", True, read_fgsm),
        InputKind("pgd", "PGD", "defences (fgsm)", True, read_pgd),
        InputKind("lbfgs", "L-BFGS adversarial examples", "szegedy", True, read_lbfgs),
        InputKind("evolved", "evolved fooling images", "fooling", True, read_evolved),
        InputKind("ascent", "gradient-ascent fooling images", "fooling", True, read_ascent),
        InputKind(
            "collisions", "feature collisions (micro and macro corners)", "collisions_mnist",
            True, read_collisions,
        ),
        InputKind(
            "interpolations", "interpolations of the collision corners", "collisions_mnist",
            True, read_interpolations,
        ),
    )
}  # fmt: skip


@dataclass
class Collected:
    """The rows to score, and a reason for every kind left out."""

    sets: list[InputSet]
    skipped: dict[str, str]


def collect(
    paths_by_kind: Mapping[str, Sequence[str]],
    context: Context,
    kinds: Sequence[str] | None = None,
) -> Collected:
    """Read every kind (``kinds``: a subset, in registry order by default) whose files exist.

    A kind with no existing file is skipped with a reason; files of it that
    are named but absent are mentioned in the reason. Each row but the clean
    images (the negatives, all kept) holds at most ``context.max_per_set``
    images (a seeded sample).
    """
    names = list(KINDS) if kinds is None else list(kinds)
    unknown = [name for name in list(names) + list(paths_by_kind) if name not in KINDS]
    if unknown:
        raise ValueError(f"unknown input kind(s) {', '.join(unknown)} (known: {', '.join(KINDS)})")
    sets: list[InputSet] = []
    skipped: dict[str, str] = {}
    for name in names:
        kind = KINDS[name]
        given = [str(path) for path in paths_by_kind.get(name, [])]
        present = [path for path in given if Path(path).is_file()]
        absent = [path for path in given if not Path(path).is_file()]
        if kind.needs_files and not present:
            reason = f"no {kind.label} in this run (made by {kind.made_by}"
            reason += f"; absent: {', '.join(absent)})" if absent else ")"
            skipped[name] = reason
            continue
        rows = kind.read(present, context)
        rows = [row for row in rows if len(row.images)]
        if not rows:
            skipped[name] = f"{kind.label}: the artifacts hold no MNIST images"
            continue
        for position, row in enumerate(rows):
            if row.kind != "clean" and len(row.images) > context.max_per_set:
                row.note += f"{'; ' if row.note else ''}{context.max_per_set} of {len(row.images)}"
                row.images = subsample(row.images, context.max_per_set, context.seed + position)
        if absent:
            rows[0].note += f"{'; ' if rows[0].note else ''}absent: {', '.join(absent)}"
        sets += rows
    return Collected(sets, skipped)

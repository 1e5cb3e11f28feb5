"""A small patch database cut from MNIST training digits, for the macro method on the CPU.

The ImageNet geometry (:mod:`fooled.sources`) scaled to 28x28:
patches of ``size`` pixels on a ``stride`` grid of a seeded sample of training
digits form the database; the seed's query patches sit on a ``grid`` x ``grid``
lattice with step ``step``; each query's nearest database patch (exact L2,
FAISS ``IndexFlatL2``) brings its whole digit, shifted so that the matched
patch lands on the query, kept inside a ``window`` around it, and weighted by
the same normalised tent. The default 8x8 patches at stride 2 give 121
patches per digit; 11 x 11 queries with step 2 cover the 28x28 seed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from fooled.data import sources as source_geometry
from fooled.data.patches import cut_patches, grid_cells, grid_positions


@dataclass
class MnistSources:
    sources: np.ndarray  # (K, 28, 28, 1) uint8
    weights: np.ndarray  # (K, 28, 28) float32
    coverage: np.ndarray  # (28, 28) bool
    query_positions: np.ndarray  # (K, 2)
    database_images: np.ndarray  # (D,) training indices in the database
    neighbour_images: np.ndarray  # (K,) training index of each match
    neighbour_positions: np.ndarray  # (K, 2) (y, x) of the matched patch
    neighbour_labels: np.ndarray  # (K,)
    distances: np.ndarray  # (K,) L2 on 0-255 pixels
    n_patches: int
    search_seconds: float


def check_geometry(image_size: int, size: int, grid: int, step: int) -> None:
    if (grid - 1) * step + size > image_size:
        raise ValueError(
            f"a {grid}x{grid} query grid with step {step} and {size}-pixel patches does not "
            f"fit a {image_size}-pixel image"
        )


def mnist_sources(
    train_images: np.ndarray,
    train_labels: np.ndarray,
    seed_image: np.ndarray,
    *,
    size: int,
    stride: int,
    n_images: int,
    sample_seed: int,
    grid: int,
    step: int,
    window: int,
) -> MnistSources:
    """Sources and initial weights of one seed digit (uint8 28x28) from the training digits."""
    import faiss

    image_size = seed_image.shape[0]
    check_geometry(image_size, size, grid, step)
    rng = np.random.default_rng(sample_seed)
    count = min(n_images, len(train_images))
    database = np.sort(rng.choice(len(train_images), size=count, replace=False))
    images = np.asarray(train_images[database], np.uint8)[..., None]
    positions = grid_positions(image_size, size, stride)
    ys, xs = grid_cells(positions)
    vectors = cut_patches(images, positions, size).astype(np.float32)
    qy, qx = source_geometry.query_positions(grid, step)
    queries = source_geometry.query_patches(seed_image[..., None], grid, step, size)
    started = time.perf_counter()
    index = faiss.IndexFlatL2(vectors.shape[1])
    index.add(vectors)
    squared, ids = index.search(queries.astype(np.float32), 1)
    search_seconds = time.perf_counter() - started
    ids = ids[:, 0].astype(np.int64)
    cells = ys.size
    image_of = ids // cells
    match_y, match_x = ys[ids % cells], xs[ids % cells]
    built, weights, coverage = source_geometry.build_sources(
        images[image_of], match_y, match_x, qy, qx, image_size, size, window
    )
    exact = np.sqrt(
        ((vectors[ids] - queries.astype(np.float32)) ** 2).sum(axis=1, dtype=np.float64)
    )
    return MnistSources(
        sources=built,
        weights=weights,
        coverage=coverage,
        query_positions=np.stack([qy, qx], axis=1),
        database_images=database.astype(np.int64),
        neighbour_images=database[image_of].astype(np.int64),
        neighbour_positions=np.stack([match_y, match_x], axis=1),
        neighbour_labels=np.asarray(train_labels)[database[image_of]].astype(np.int64),
        distances=exact.astype(np.float32),
        n_patches=int(len(vectors)),
        search_seconds=search_seconds,
    )

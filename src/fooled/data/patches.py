"""The patch database: 32x32 patches on a sliding grid, addressed by (image, y, x).

At the paper's scale (37M patches of 32x32x3 bytes) the raw patches would
take 114 GB, so they are never stored. A patch's vector id maps to the image
it comes from and its top-left corner; the pixels are cut back out of the
image shards (:mod:`fooled.imagenet`) when exact distances are
needed. Vector ids are dense: database image after database image, each
contributing its grid cells in raster order (y, then x), so the id of a patch
is ``first_id[image] + cell``; the map stores (image, y, x) explicitly anyway
so that a reader never has to know the rule.

A patch vector is the patch's pixels flattened in (row, column, channel)
order; distances are squared L2 on 0-255 pixel values, computed exactly in
integers wherever correctness is judged (re-ranking, recall).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from fooled.core import h5io
from fooled.data.imagenet import open_shard, read_shard_images


def grid_positions(image_size: int, size: int, stride: int) -> np.ndarray:
    """Top-left corners along one axis: 0, stride, ... while the patch fits (17 for 256/32/14)."""
    if size > image_size:
        raise ValueError(f"patch size {size} exceeds image size {image_size}")
    return np.arange(0, image_size - size + 1, stride, dtype=np.int64)


def grid_cells(positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(y, x) of every cell in raster order."""
    ys, xs = np.meshgrid(positions, positions, indexing="ij")
    return ys.ravel(), xs.ravel()


def window_view(images: np.ndarray, size: int) -> np.ndarray:
    """A copy-free view (n, H', W', size, size, C): element [i, y, x] is the patch at (y, x)."""
    return sliding_window_view(images, (size, size), axis=(1, 2)).transpose(0, 1, 2, 4, 5, 3)


def cut_patches(images: np.ndarray, positions: np.ndarray, size: int) -> np.ndarray:
    """All grid patches of a batch of images, as uint8 rows of ``size*size*C`` values.

    Row ``i * P*P + c`` is cell ``c`` (raster order) of image ``i``: the same
    order as the vector ids. Each cell is one block copy of ``size`` rows of
    ``size*C`` contiguous bytes for the whole batch, the fastest way numpy
    offers (a strided gather over a window view is several times slower).
    """
    images = np.ascontiguousarray(images)
    count, height, width, channels = images.shape
    rows = images.reshape(count, height, width * channels)
    out = np.empty((count, positions.size, positions.size, size, size * channels), np.uint8)
    for i, y in enumerate(positions):
        for j, x in enumerate(positions):
            out[:, i, j] = rows[:, y : y + size, x * channels : (x + size) * channels]
    return out.reshape(-1, size * size * channels)


def cut_at(images: np.ndarray, image: np.ndarray, y: np.ndarray, x: np.ndarray, size: int):
    """Patches at arbitrary (image, y, x): ``images`` is indexed by ``image``."""
    picked = window_view(images, size)[np.asarray(image), np.asarray(y), np.asarray(x)]
    return picked.reshape(len(image), -1)


def exact_sq_distances(
    queries: np.ndarray, candidates: np.ndarray, chunk: int = 2048
) -> np.ndarray:
    """Squared L2 between paired uint8 rows, exact (int64): ``queries[i]`` vs ``candidates[i]``.

    Differences of 0-255 values fit int16. The sum is accumulated in int32
    when it cannot overflow (rows of up to 33,025 values: 3,072 for a 32x32
    RGB patch), which measured 1.7x faster than int64, and in int64 otherwise;
    a chunk at a time, so no temporary is larger than ``chunk`` rows.
    """
    queries, candidates = np.asarray(queries), np.asarray(candidates)
    width = queries.shape[1] if queries.ndim == 2 else 0
    accumulate = np.int32 if width * 255 * 255 <= np.iinfo(np.int32).max else np.int64
    result = np.empty(len(queries), np.int64)
    for start in range(0, len(queries), chunk):
        difference = queries[start : start + chunk].astype(np.int16) - candidates[
            start : start + chunk
        ].astype(np.int16)
        result[start : start + chunk] = np.einsum(
            "ij,ij->i", difference, difference, dtype=accumulate
        )
    return result


@dataclass
class PatchMap:
    """Vector id -> (image, y, x), and what the database holds."""

    image: np.ndarray  # int64 global image index (shard order)
    y: np.ndarray
    x: np.ndarray
    db_images: np.ndarray  # global indices of the database images, in id order
    heldout_images: np.ndarray  # global indices of held-out images (queries for recall)
    shard_offsets: np.ndarray  # global index of each shard's first image; last = total
    size: int
    stride: int
    image_size: int

    @property
    def cells_per_image(self) -> int:
        return len(grid_positions(self.image_size, self.size, self.stride)) ** 2

    @property
    def n_patches(self) -> int:
        return int(self.image.shape[0])

    def first_id(self, global_image: int) -> int | None:
        """First vector id of a database image, None for an image outside the database."""
        where = np.flatnonzero(self.db_images == global_image)
        return int(where[0]) * self.cells_per_image if where.size else None


def build_patch_map(
    shard_paths: Sequence[str],
    image_size: int,
    size: int,
    stride: int,
    heldout: int,
    seed: int,
) -> PatchMap:
    """Choose the held-out images (seeded) and lay out the ids of every other image's patches."""
    counts = [open_shard(path).n_images for path in shard_paths]
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    total = int(offsets[-1])
    if total == 0:
        raise ValueError("the image shards hold no image")
    if heldout >= total:
        raise ValueError(f"{heldout} held-out images leave no database image of {total}")
    rng = np.random.default_rng(seed)
    heldout_images = np.sort(rng.choice(total, size=heldout, replace=False)).astype(np.int64)
    db_images = np.setdiff1d(np.arange(total, dtype=np.int64), heldout_images)
    ys, xs = grid_cells(grid_positions(image_size, size, stride))
    cells = ys.size
    return PatchMap(
        image=np.repeat(db_images, cells),
        y=np.tile(ys, db_images.size),
        x=np.tile(xs, db_images.size),
        db_images=db_images,
        heldout_images=heldout_images,
        shard_offsets=offsets,
        size=size,
        stride=stride,
        image_size=image_size,
    )


def write_patch_map(path: str | os.PathLike[str], patch_map: PatchMap, attrs: dict) -> None:
    with h5io.atomic_h5(path) as out:
        compact = np.uint16 if patch_map.image_size < 65536 else np.int64
        h5io.write_datasets(
            out,
            {
                "image": patch_map.image.astype(np.int32),
                "y": patch_map.y.astype(compact),
                "x": patch_map.x.astype(compact),
                "db_images": patch_map.db_images,
                "heldout_images": patch_map.heldout_images,
                "shard_offsets": patch_map.shard_offsets,
            },
        )
        h5io.set_attrs(out, attrs)
        h5io.set_attrs(
            out,
            {
                "size": patch_map.size,
                "stride": patch_map.stride,
                "image_size": patch_map.image_size,
                "cells_per_image": patch_map.cells_per_image,
                "n_patches": patch_map.n_patches,
                "n_db_images": int(patch_map.db_images.size),
                "n_heldout_images": int(patch_map.heldout_images.size),
            },
        )


def read_patch_map(path: str | os.PathLike[str]) -> PatchMap:
    names = ["image", "y", "x", "db_images", "heldout_images", "shard_offsets"]
    arrays = h5io.read_arrays(path, names)
    attrs = h5io.read_attrs(path)
    return PatchMap(
        image=arrays["image"].astype(np.int64),
        y=arrays["y"].astype(np.int64),
        x=arrays["x"].astype(np.int64),
        db_images=arrays["db_images"],
        heldout_images=arrays["heldout_images"],
        shard_offsets=arrays["shard_offsets"],
        size=int(attrs["size"]),
        stride=int(attrs["stride"]),
        image_size=int(attrs["image_size"]),
    )


class ImageStore:
    """The 256x256 images of all shards by global index: in memory or read on demand.

    ``preload`` reads every shard once (196 KB an image: 25 GB at the paper's
    128k images, 196 MB for the 1,000-image sample), so re-ranking costs no
    disk reads; without it each request reads just the images it needs.
    """

    def __init__(self, shard_paths: Sequence[str], preload: bool) -> None:
        self.shard_paths = [str(p) for p in shard_paths]
        shards = [open_shard(p) for p in self.shard_paths]
        counts = [s.n_images for s in shards]
        self.offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self.files = [name for shard in shards for name in shard.files]
        self.labels = np.concatenate([s.labels for s in shards]) if shards else np.zeros(0)
        self.manifest_index = np.concatenate([s.manifest_index for s in shards])
        self._images: np.ndarray | None = None
        self.read_seconds = 0.0
        if preload:
            started = time.perf_counter()
            self._images = np.concatenate([read_shard_images(p) for p in self.shard_paths])
            self.read_seconds += time.perf_counter() - started

    @property
    def n_images(self) -> int:
        return int(self.offsets[-1])

    def images(self, indices: np.ndarray) -> np.ndarray:
        """Images by global index (any order, repeats allowed)."""
        indices = np.asarray(indices, np.int64)
        if self._images is not None:
            return self._images[indices]
        started = time.perf_counter()
        unique, inverse = np.unique(indices, return_inverse=True)
        shard_of = np.searchsorted(self.offsets, unique, side="right") - 1
        parts = []
        for shard in np.unique(shard_of):
            local = unique[shard_of == shard] - self.offsets[shard]
            parts.append(read_shard_images(self.shard_paths[shard], local))
        result = np.concatenate(parts)[inverse] if parts else np.zeros((0,), np.uint8)
        self.read_seconds += time.perf_counter() - started
        return result

    def iter_blocks(
        self, indices: np.ndarray, block: int
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(global indices, images) in blocks of at most ``block`` images, in the given order."""
        indices = np.asarray(indices, np.int64)
        for start in range(0, indices.size, block):
            chunk = indices[start : start + block]
            yield chunk, self.images(chunk)

    def patches(self, patch_map: PatchMap, ids: np.ndarray) -> np.ndarray:
        """Raw uint8 patches of vector ids, cut from their images at (y, x)."""
        ids = np.asarray(ids, np.int64)
        return self.cutter(patch_map, ids)(ids)

    def cutter(self, patch_map: PatchMap, ids: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        """A function cutting patches by id, for any subset of ``ids``, from images in memory.

        A preloaded store cuts straight from its images; otherwise the images
        that ``ids`` need are read once, here, so that a caller cutting many
        small batches (re-ranking a few queries at a time, to stay in cache)
        never reads an image twice.
        """
        if self._images is not None:
            images, needed = self._images, None
        else:
            needed = np.unique(patch_map.image[np.asarray(ids, np.int64)])
            images = self.images(needed)

        def cut(batch: np.ndarray) -> np.ndarray:
            batch = np.asarray(batch, np.int64)
            image = patch_map.image[batch]
            if needed is not None:
                image = np.searchsorted(needed, image)
            return cut_at(images, image, patch_map.y[batch], patch_map.x[batch], patch_map.size)

        return cut

"""Exact nearest-patch search: integer distances over every database patch, CPU or GPU.

Why an exact mode: at the paper's scale (37M patches) an approximate index
with a shallow re-rank loses the true neighbour for a third of the queries
(issue 11: PCA-64 shortlists re-ranked 10 deep reached recall@1 0.68-0.72),
while one GPU computes every distance exactly in well under a second per
seed image. The squared L2 distance of two uint8 patches is

    |q - p|^2 = |q'|^2 + |p'|^2 - 2 q'.p'      with q' = q - 128, p' = p - 128 (int8)

(the shift changes no difference). ``q'.p'`` is one int8 matrix product with
int32 accumulation (``torch._int_mm``: cuBLASLt's int8 tensor-core GEMM on a
GPU), and every other term is an integer too, so no distance is ever rounded.
On the CPU the same product is three float32 GEMMs over 1,024 coordinates
each (|partial sum| <= 1024 * 128 * 128 = 2^24: every float32 value is an
exact integer), summed in float64 (exact below 2^53): BLAS speed, no rounding.

The database is held on each device either as its images (uint8, 196 KB an
image: the paper's 128k images are 25 GB) with patches cut on the device per
block, or as the patches themselves (int8, 3 KB each: 114 GB for 37M, one
H200) when they fit, which skips the cutting. It can be split into shards of
consecutive ids over several GPUs (or several CPU "devices", which exercises
the same merge). Ties in distance go to the lowest patch id everywhere: per
block the first minimum, across blocks and shards the earlier one.

The backends share one driver (:class:`ExactSearcher`); the ``torch`` backend
runs on ``cpu`` as well, which is how the GPU code path is tested here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

LOGGER = logging.getLogger(__name__)

CENTER = 128
# Coordinates per float32 GEMM on the CPU: |partial sums| <= 1024 * 128^2 = 2^24, exact.
EXACT_FLOAT32_CHUNK = 1024
MODES = ("exact", "approximate", "auto")
BACKENDS = ("auto", "numpy", "torch")
HOLDS = ("auto", "patches", "images")


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class ExactSettings:
    """How the exact search runs (``datasets.imagenet.index.exact`` in the config).

    backend: ``numpy`` (CPU), ``torch`` (the GPUs it sees, or its CPU device), or ``auto``
    (torch with CUDA when available, else numpy). devices: GPUs to shard over (0 = all).
    hold: ``patches`` (int8 patches resident), ``images`` (patches cut per block), or
    ``auto`` (patches when they fit in ``memory_fraction`` of a device's free memory).
    block_patches: database patches per distance block (0 = the backend's default).
    query_batch: queries per matrix product.
    """

    backend: str
    devices: int
    hold: str
    block_patches: int
    query_batch: int
    memory_fraction: float

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> ExactSettings:
        settings = cls(
            backend=str(section["backend"]),
            devices=int(section["devices"]),
            hold=str(section["hold"]),
            block_patches=int(section["block_patches"]),
            query_batch=int(section["query_batch"]),
            memory_fraction=float(section["memory_fraction"]),
        )
        if settings.backend not in BACKENDS:
            raise ValueError(
                f"imagenet.index.exact.backend '{settings.backend}': not in {BACKENDS}"
            )
        if settings.hold not in HOLDS:
            raise ValueError(f"imagenet.index.exact.hold '{settings.hold}': not in {HOLDS}")
        return settings


def torch_cuda_devices() -> int:
    """GPUs PyTorch sees (0 without PyTorch or without CUDA)."""
    try:
        import torch
    except ImportError:
        return 0
    try:
        return int(torch.cuda.device_count()) if torch.cuda.is_available() else 0
    except RuntimeError:
        return 0


def resolve_backend(backend: str) -> str:
    """``auto`` -> ``torch`` when PyTorch sees a GPU, else ``numpy``."""
    if backend == "auto":
        return "torch" if torch_cuda_devices() > 0 else "numpy"
    if backend == "torch":
        try:
            import torch  # noqa: F401
        except ImportError as error:
            raise RuntimeError(
                "imagenet.index.exact.backend is torch but PyTorch is not installed"
            ) from error
    return backend


def resolve_mode(index_settings: Mapping[str, Any]) -> str:
    """The search mode a run uses: ``auto`` is exact on a GPU, approximate (FAISS) on the CPU.

    A GPU here means one that the exact search can use (PyTorch with CUDA):
    exact search over 37M patches takes about half a second per seed image
    there, and hours on a CPU, where the FAISS index with re-ranking is the
    only practical choice at scale.
    """
    mode = str(index_settings["mode"])
    if mode not in MODES:
        raise ValueError(f"imagenet.index.mode '{mode}': not one of {', '.join(MODES)}")
    if mode != "auto":
        return mode
    return "exact" if torch_cuda_devices() > 0 else "approximate"


# --------------------------------------------------------------------------- results


@dataclass
class ExactSearchResult:
    """Each query's nearest database patch (lowest id among equals) and its exact distance."""

    ids: np.ndarray  # (nq,) int64; -1 where every patch was excluded
    sq_distances: np.ndarray  # (nq,) int64 exact squared L2; -1 where no patch
    seconds: float  # the whole search, device time synchronised
    cut_seconds: float  # time spent cutting patches on the host (numpy backend)
    n_patches: int
    backend: str
    hold: str
    devices: list[str]


# --------------------------------------------------------------------------- helpers


def centered_int8(patches: np.ndarray) -> np.ndarray:
    """uint8 pixels minus 128 as int8 (the same bits with the top one flipped)."""
    return (np.ascontiguousarray(patches, np.uint8) ^ np.uint8(0x80)).view(np.int8)


def sq_norms(centered: np.ndarray) -> np.ndarray:
    """Exact squared norms of int8 rows (int64)."""
    rows = np.asarray(centered)
    width = rows.shape[1] if rows.ndim == 2 else 0
    accumulate = np.int32 if width * 128 * 128 <= np.iinfo(np.int32).max else np.int64
    wide = rows.astype(np.int32)
    return np.einsum("ij,ij->i", wide, wide, dtype=accumulate).astype(np.int64)


def check_dimension(dimension: int) -> None:
    """int32 holds |p'|^2 - 2 q'.p' only below 43,690 coordinates (3 * d * 128^2 < 2^31)."""
    if 3 * dimension * CENTER * CENTER >= 2**31:
        raise ValueError(f"exact search: {dimension} coordinates overflow int32 distances")


def split_images(n_images: int, n_shards: int) -> list[tuple[int, int]]:
    """Consecutive [start, stop) image ranges of (nearly) equal size, none empty."""
    n_shards = max(1, min(n_shards, n_images)) if n_images else 1
    bounds = np.linspace(0, n_images, n_shards + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def merge_best(best_sq: np.ndarray, best_ids: np.ndarray, sq: np.ndarray, ids: np.ndarray) -> None:
    """In place: take (sq, ids) where strictly nearer; the earlier (lower-id) result keeps ties."""
    better = (ids >= 0) & ((best_ids < 0) | (sq < best_sq))
    best_sq[better] = sq[better]
    best_ids[better] = ids[better]


def _grid_count(image_size: int, size: int, stride: int) -> int:
    if size > image_size:
        raise ValueError(f"patch size {size} exceeds image size {image_size}")
    return (image_size - size) // stride + 1


# --------------------------------------------------------------------------- numpy backend


def _numpy_cut(images: np.ndarray, size: int, stride: int) -> np.ndarray:
    """All grid patches of uint8 images as rows, in id order (:func:`patches.cut_patches`)."""
    from fooled.data.patches import cut_patches  # late: h5py and the ingest stay unimported

    positions = np.arange(0, images.shape[1] - size + 1, stride, dtype=np.int64)
    return cut_patches(images, positions, size)


class NumpyShard:
    """Database images [first_image, ...) of one shard on the CPU, as images or int8 patches."""

    device = "cpu"

    def __init__(
        self, images: np.ndarray, first_id: int, size: int, stride: int, hold: str
    ) -> None:
        self.size, self.stride = size, stride
        self.first_id = int(first_id)
        self.cells = _grid_count(images.shape[1], size, stride) ** 2
        self.n_patches = images.shape[0] * self.cells
        self.hold = hold
        self.cut_seconds = 0.0
        if hold == "patches":
            started = time.perf_counter()
            self.patches = centered_int8(self._cut(images))
            self.norms = sq_norms(self.patches)
            self.cut_seconds += time.perf_counter() - started
            self.images = None
        else:
            self.images = np.ascontiguousarray(images, np.uint8)

    def _cut(self, images: np.ndarray) -> np.ndarray:
        return _numpy_cut(images, self.size, self.stride)

    def blocks(self, block_patches: int) -> Iterator[tuple[int, np.ndarray, np.ndarray, int]]:
        """(first id, centered int8 patches, their squared norms, rows) a block at a time."""
        if self.hold == "patches":
            for start in range(0, self.n_patches, block_patches):
                stop = start + block_patches
                block = self.patches[start:stop]
                yield self.first_id + start, block, self.norms[start:stop], block.shape[0]
            return
        per_block = max(1, block_patches // self.cells)
        for start in range(0, self.images.shape[0], per_block):
            started = time.perf_counter()
            block = centered_int8(self._cut(self.images[start : start + per_block]))
            norms = sq_norms(block)
            self.cut_seconds += time.perf_counter() - started
            yield self.first_id + start * self.cells, block, norms, block.shape[0]


class NumpyKernel:
    """Exact block minima with float32 BLAS (three exact 1,024-coordinate products)."""

    name = "numpy"

    def __init__(self, queries: np.ndarray, query_batch: int) -> None:
        n = len(queries)
        self.batches = [slice(s, min(s + query_batch, n)) for s in range(0, n, query_batch)]
        centered = centered_int8(queries).astype(np.float32)
        self.chunks = [
            np.ascontiguousarray(centered[:, start : start + EXACT_FLOAT32_CHUNK])
            for start in range(0, centered.shape[1], EXACT_FLOAT32_CHUNK)
        ]
        self.query_norms = sq_norms(centered_int8(queries))

    def block_min(
        self,
        batch: int,
        patches: np.ndarray,
        norms: np.ndarray,
        n: int,
        exclude: tuple[int, int] | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(min of |p'|^2 - 2 q'.p' as float64, first local index) per query of one batch."""
        rows = self.batches[batch]
        vectors = patches[:n].astype(np.float32)
        norms = norms[:n]
        products = None
        for number, chunk in enumerate(self.chunks):
            start = number * EXACT_FLOAT32_CHUNK
            part = chunk[rows] @ vectors[:, start : start + chunk.shape[1]].T  # exact integers
            if products is None:
                products = part.astype(np.float64)
            else:
                products += part
        scores = norms.astype(np.float64)[None, :] - 2.0 * products
        if exclude is not None:
            scores[:, exclude[0] : exclude[1]] = np.inf
        local = np.argmin(scores, axis=1)
        best = scores[np.arange(scores.shape[0]), local]
        return best, local


# --------------------------------------------------------------------------- torch backend


def _torch():
    import torch

    return torch


def cut_on_device(images, size: int, stride: int):
    """All grid patches of uint8 images (n, H, W, C) on their device, as rows (ids' order).

    ``unfold`` twice gives (n, H', W', C, size_y, size_x); the permute puts each
    patch's pixels in (row, column, channel) order, as :func:`cut_patches` does.
    """
    windows = images.unfold(1, size, stride).unfold(2, size, stride)
    count = windows.shape[0] * windows.shape[1] * windows.shape[2]
    return windows.permute(0, 1, 2, 4, 5, 3).reshape(count, -1)


def window_sq_norms_torch(images, size: int, stride: int):
    """|p'|^2 of every grid patch from an integral image of squared centered pixels.

    O(pixels) instead of O(patches x size^2): four look-ups per patch, exact
    in int64. Same order as the patches (image, then raster order of cells).
    """
    torch = _torch()
    centered = images.to(torch.int32) - CENTER
    squares = (centered * centered).sum(dim=3, dtype=torch.int64)  # (n, H, W)
    integral = torch.nn.functional.pad(squares.cumsum(1).cumsum(2), (1, 0, 1, 0))
    top = torch.arange(0, images.shape[1] - size + 1, stride, device=images.device)
    left = torch.arange(0, images.shape[2] - size + 1, stride, device=images.device)
    y0, y1 = top[:, None], top[:, None] + size
    x0, x1 = left[None, :], left[None, :] + size
    sums = integral[:, y1, x1] - integral[:, y0, x1] - integral[:, y1, x0] + integral[:, y0, x0]
    return sums.reshape(-1).to(torch.int32)


def _padded_rows(n: int) -> int:
    """``torch._int_mm`` wants row counts that are multiples of 8 (and more than 16)."""
    return max(24, -(-n // 8) * 8)


class TorchShard:
    """One shard of the database on one torch device: its images, or its int8 patches.

    Blocks are padded to a multiple of 8 rows (zeros, never returned: the
    kernel reads only the first ``n`` columns of each product).
    """

    def __init__(
        self,
        images: np.ndarray,
        first_id: int,
        size: int,
        stride: int,
        hold: str,
        device: str,
        block_patches: int,
    ) -> None:
        torch = _torch()
        self.device = device
        self.size, self.stride = size, stride
        self.first_id = int(first_id)
        self.grid = _grid_count(images.shape[1], size, stride)
        self.cells = self.grid**2
        self.channels = images.shape[3]
        self.n_patches = images.shape[0] * self.cells
        self.hold = hold
        self.cut_seconds = 0.0
        # On the CPU numpy's block copies cut 3x faster than torch's strided copy; the GPU
        # path (unfold) is tested on the CPU by turning this off.
        self.host_cut = device == "cpu"
        host = torch.from_numpy(np.ascontiguousarray(images, np.uint8))
        self.images = host.to(device)
        del host
        if hold == "patches":
            dimension = size * size * self.channels
            rows = _padded_rows(self.n_patches)
            self.patches = torch.zeros((rows, dimension), dtype=torch.int8, device=device)
            self.norms = torch.zeros(rows, dtype=torch.int32, device=device)
            for first, block, norms, n in self._cut_blocks(block_patches):
                start = first - self.first_id
                self.patches[start : start + n] = block[:n]
                self.norms[start : start + n] = norms[:n]
            self.images = None

    def _cut_blocks(self, block_patches: int):
        """Patches cut on the device: one copy into a padded buffer, then the sign flip in place."""
        torch = _torch()
        per_block = max(1, block_patches // self.cells)
        dimension = self.size * self.size * self.channels
        for start in range(0, self.images.shape[0], per_block):
            images = self.images[start : start + per_block]
            n = images.shape[0] * self.cells
            buffer = torch.full(
                (_padded_rows(n), dimension), 0x80, dtype=torch.uint8, device=self.device
            )
            if self.host_cut:
                started = time.perf_counter()
                buffer[:n] = torch.from_numpy(_numpy_cut(images.numpy(), self.size, self.stride))
                self.cut_seconds += time.perf_counter() - started
            else:
                windows = images.unfold(1, self.size, self.stride).unfold(2, self.size, self.stride)
                shape = (images.shape[0], self.grid, self.grid, self.size, self.size, self.channels)
                buffer[:n].view(shape).copy_(windows.permute(0, 1, 2, 4, 5, 3))
            block = buffer.bitwise_xor_(0x80).view(torch.int8)
            norms = torch.zeros(block.shape[0], dtype=torch.int32, device=self.device)
            norms[:n] = window_sq_norms_torch(images, self.size, self.stride)
            yield self.first_id + start * self.cells, block, norms, n

    def blocks(self, block_patches: int):
        if self.hold == "patches":
            for start in range(0, self.n_patches, block_patches):
                n = min(block_patches, self.n_patches - start)
                stop = start + _padded_rows(n)
                yield self.first_id + start, self.patches[start:stop], self.norms[start:stop], n
            return
        yield from self._cut_blocks(block_patches)


class TorchKernel:
    """Exact block minima with ``torch._int_mm`` (int8 in, int32 out) on one device."""

    name = "torch"

    def __init__(self, queries: np.ndarray, device: str, query_batch: int) -> None:
        torch = _torch()
        self.device = device
        centered = centered_int8(queries)
        self.n = centered.shape[0]
        # Every batch of queries padded with zero rows to what _int_mm accepts.
        self.batches = []
        for start in range(0, self.n, query_batch):
            part = centered[start : start + query_batch]
            padded = np.zeros((_padded_rows(len(part)), centered.shape[1]), np.int8)
            padded[: len(part)] = part
            self.batches.append((len(part), torch.from_numpy(padded).to(device)))
        self.query_norms = sq_norms(centered)

    def block_min(self, batch: int, patches, norms, n: int, exclude: tuple[int, int] | None):
        """(min of |p'|^2 - 2 q'.p' as int32, first local index) per query of one batch."""
        torch = _torch()
        count, queries = self.batches[batch]
        if patches.shape[0] % 8:  # a caller's own block (never from a shard): pad it here
            pad = _padded_rows(patches.shape[0]) - patches.shape[0]
            patches = torch.cat([patches, patches.new_zeros((pad, patches.shape[1]))])
        products = torch._int_mm(queries, patches.t())[:count, :n]
        # |p'|^2 - 2 q'.p' (int32: |value| < 3 * d * 128^2 < 2^31).
        scores = torch.add(norms[None, :n], products, alpha=-2)
        if exclude is not None:
            scores[:, exclude[0] : exclude[1]] = torch.iinfo(torch.int32).max
        best, local = torch.min(scores, dim=1)  # the first minimum: the lowest id
        return best, local


# --------------------------------------------------------------------------- the searcher


class ExactSearcher:
    """Exact nearest patch of each query over a database split into shards of consecutive ids.

    ``shard_images`` are the database images in id order, given per shard
    (each a uint8 (n, H, W, C) array, or a callable returning it, so that a
    caller never holds every shard's images on the host at once); the
    patches of image ``i`` of the whole list have ids ``first_id + i * cells``
    onwards, cells in raster order, as :mod:`fooled.data.patches` lays them out.
    """

    def __init__(
        self,
        shard_images: Sequence[np.ndarray | Callable[[], np.ndarray]],
        size: int,
        stride: int,
        backend: str = "numpy",
        devices: Sequence[str] | None = None,
        hold: str = "images",
        block_patches: int = 0,
        query_batch: int = 1024,
        first_id: int = 0,
        memory_fraction: float = 0.9,
        logger: logging.Logger = LOGGER,
    ) -> None:
        if backend not in ("numpy", "torch"):
            raise ValueError(f"exact search backend '{backend}': numpy or torch")
        devices = list(devices) if devices else ["cpu"] * len(shard_images)
        if len(devices) != len(shard_images):
            raise ValueError(f"{len(shard_images)} shards for {len(devices)} devices")
        self.backend = backend
        self.devices = devices
        self.size, self.stride = size, stride
        self.query_batch = max(1, int(query_batch))
        on_gpu = backend == "torch" and any(d.startswith("cuda") for d in devices)
        self.block_patches = int(block_patches) or (1 << 21 if on_gpu else 16384)
        self.shards: list[Any] = []
        self.dimension = None
        next_id = int(first_id)
        holds = set()
        for images, device in zip(shard_images, devices, strict=True):
            array = images() if callable(images) else images
            self.dimension = size * size * array.shape[3]
            check_dimension(self.dimension)
            shard_hold = self._choose_hold(hold, array, device, memory_fraction)
            holds.add(shard_hold)
            if backend == "numpy":
                shard = NumpyShard(array, next_id, size, stride, shard_hold)
            else:
                shard = TorchShard(
                    array, next_id, size, stride, shard_hold, device, self.block_patches
                )
            del array
            self.shards.append(shard)
            next_id += shard.n_patches
        self.first_id = int(first_id)
        self.n_patches = next_id - self.first_id
        self.hold = holds.pop() if len(holds) == 1 else "mixed"
        logger.info(
            "exact search over %d patches: %s on %s, holding %s",
            self.n_patches,
            backend,
            ", ".join(sorted(set(devices))),
            self.hold,
        )

    def _choose_hold(self, hold: str, images: np.ndarray, device: str, fraction: float) -> str:
        """``auto``: patches when they fit ``fraction`` of the device's free memory (GPU only)."""
        if hold != "auto":
            return hold
        if self.backend != "torch" or not device.startswith("cuda"):
            return "images"  # on the CPU, resident patches cost 16x the images' memory
        torch = _torch()
        free, _ = torch.cuda.mem_get_info(torch.device(device))
        cells = _grid_count(images.shape[1], self.size, self.stride) ** 2
        needed = images.shape[0] * cells * (self.size * self.size * images.shape[3] + 4)
        scratch = 2 * _padded_rows(self.query_batch) * self.block_patches * 4  # products, scores
        return "patches" if needed + scratch < fraction * free else "images"

    def search(
        self, queries: np.ndarray, exclude_ids: tuple[int, int] | None = None
    ) -> ExactSearchResult:
        """Each query's nearest patch; ``exclude_ids`` (half-open id range) is never returned."""
        queries = np.ascontiguousarray(queries, np.uint8)
        if queries.ndim != 2 or queries.shape[1] != self.dimension:
            raise ValueError(f"queries of shape {queries.shape}, the database has {self.dimension}")
        started = time.perf_counter()
        cut_before = sum(shard.cut_seconds for shard in self.shards)
        n = len(queries)
        kernels = {}
        for device in dict.fromkeys(self.devices):
            if self.backend == "numpy":
                kernels[device] = NumpyKernel(queries, self.query_batch)
            else:
                kernels[device] = TorchKernel(queries, device, self.query_batch)
        query_norms = next(iter(kernels.values())).query_norms
        batches = [slice(s, min(s + self.query_batch, n)) for s in range(0, n, self.query_batch)]
        # Per shard the running best; blocks of all shards interleaved so that GPUs overlap.
        state = [self._empty_best(shard, n) for shard in self.shards]
        streams = [shard.blocks(self.block_patches) for shard in self.shards]
        active = list(range(len(self.shards)))
        while active:
            still = []
            for position in active:
                item = next(streams[position], None)
                if item is None:
                    continue
                still.append(position)
                first, block, norms, rows_in_block = item
                kernel = kernels[self.shards[position].device]
                local_exclude = _local_range(exclude_ids, first, rows_in_block)
                for number, rows in enumerate(batches):
                    best, local = kernel.block_min(
                        number, block, norms, rows_in_block, local_exclude
                    )
                    self._update(state[position], rows, best, local, first)
            active = still
        best_sq = np.full(n, np.iinfo(np.int64).max, np.int64)
        best_ids = np.full(n, -1, np.int64)
        for shard_state in state:  # shard order = id order: the earlier shard keeps ties
            scores, ids = self._to_host(shard_state)
            merge_best(best_sq, best_ids, scores + query_norms, ids)
        missing = best_ids < 0
        best_sq[missing] = -1
        seconds = time.perf_counter() - started
        return ExactSearchResult(
            ids=best_ids,
            sq_distances=best_sq,
            seconds=seconds,
            cut_seconds=sum(shard.cut_seconds for shard in self.shards) - cut_before,
            n_patches=self.n_patches,
            backend=self.backend,
            hold=self.hold,
            devices=list(self.devices),
        )

    # The running best of one shard: numpy arrays, or tensors on the shard's device.
    def _empty_best(self, shard, n: int):
        if self.backend == "numpy":
            return [np.full(n, np.inf), np.full(n, -1, np.int64)]
        torch = _torch()
        return [
            torch.full((n,), torch.iinfo(torch.int32).max, dtype=torch.int32, device=shard.device),
            torch.full((n,), -1, dtype=torch.int64, device=shard.device),
        ]

    def _update(self, shard_state, rows: slice, best, local, first: int) -> None:
        scores, ids = shard_state[0][rows], shard_state[1][rows]
        if self.backend == "numpy":
            valid = np.isfinite(best)
            better = valid & ((ids < 0) | (best < scores))
            scores[better] = best[better]
            ids[better] = local[better] + first
            return
        torch = _torch()
        valid = best < torch.iinfo(torch.int32).max
        better = valid & ((ids < 0) | (best < scores))
        shard_state[0][rows] = torch.where(better, best, scores)
        shard_state[1][rows] = torch.where(better, local + first, ids)

    def _to_host(self, shard_state) -> tuple[np.ndarray, np.ndarray]:
        scores, ids = shard_state
        if self.backend == "numpy":
            return np.where(ids >= 0, scores, 0).astype(np.int64), ids
        return scores.cpu().numpy().astype(np.int64), ids.cpu().numpy()


def _local_range(exclude: tuple[int, int] | None, first: int, n: int) -> tuple[int, int] | None:
    """The part of a half-open id range inside the block [first, first + n), block-relative."""
    if exclude is None:
        return None
    low, high = max(exclude[0], first), min(exclude[1], first + n)
    return (low - first, high - first) if low < high else None


# --------------------------------------------------------------------------- the workflow's entry


def device_list(backend: str, devices: int) -> list[str]:
    """The devices to shard over: every (or the first ``devices``) CUDA GPU, else the CPU."""
    if backend == "torch":
        count = torch_cuda_devices()
        if count:
            count = min(count, devices) if devices > 0 else count
            return [f"cuda:{i}" for i in range(count)]
    return ["cpu"]


def open_exact_searcher(
    store, patch_map, exact: Mapping[str, Any], logger: logging.Logger = LOGGER
) -> ExactSearcher:
    """The exact searcher over a patch database (store + patch map), per the config's settings.

    Database images are read one shard at a time (a preloaded store gives
    them from memory) and moved to that shard's device.
    """
    settings = exact if isinstance(exact, ExactSettings) else ExactSettings.from_config(exact)
    backend = resolve_backend(settings.backend)
    devices = device_list(backend, settings.devices)
    ranges = split_images(int(patch_map.db_images.size), len(devices))
    devices = devices[: len(ranges)]

    def loader(start: int, stop: int) -> Callable[[], np.ndarray]:
        return lambda: store.images(patch_map.db_images[start:stop])

    return ExactSearcher(
        [loader(a, b) for a, b in ranges],
        patch_map.size,
        patch_map.stride,
        backend=backend,
        devices=devices,
        hold=settings.hold,
        block_patches=settings.block_patches,
        query_batch=settings.query_batch,
        memory_fraction=settings.memory_fraction,
        logger=logger,
    )


def as_exact_result(found: ExactSearchResult):
    """The result as :class:`patch_index.ExactResult` (what ``evaluate_index`` compares with)."""
    from fooled.data.patch_index import ExactResult

    return ExactResult(
        ids=found.ids,
        sq_distances=found.sq_distances,
        seconds=found.seconds - found.cut_seconds,
        cut_seconds=found.cut_seconds,
    )


def as_search_result(found: ExactSearchResult):
    """The result as :class:`patch_index.SearchResult` (what ``query_sources`` writes).

    The exact neighbour is the one candidate; its "approximate" distance is the
    exact one, and all the time is search time (nothing is re-ranked).
    """
    from fooled.data.patch_index import SearchResult

    return SearchResult(
        ids=found.ids,
        sq_distances=found.sq_distances,
        candidates=found.ids[:, None].copy(),
        approx_sq_distances=found.sq_distances.astype(np.float32)[:, None],
        search_seconds=found.seconds,
        rerank_seconds=0.0,
    )


# --------------------------------------------------------------------------- one API for both modes


class PatchSearch:
    """What ``query_sources`` and ``evaluate_index`` search with, in either mode.

    ``search(queries, exclude_ids)`` returns :class:`patch_index.SearchResult`
    in both modes (exact: the neighbour is the one candidate, nothing is
    re-ranked); ``exact(queries)`` returns :class:`patch_index.ExactResult`,
    the ground truth recall is measured against.
    """

    def __init__(
        self,
        mode: str,
        index_settings: Mapping[str, Any],
        patch_map,
        store,
        index=None,
        logger: logging.Logger = LOGGER,
    ) -> None:
        self.mode = mode
        self.settings = dict(index_settings)
        self.patch_map = patch_map
        self.store = store
        self.index = index
        self.logger = logger
        self._exact: ExactSearcher | None = None

    @property
    def exact_searcher(self) -> ExactSearcher:
        """Built on first use (it moves the database images to the device(s))."""
        if self._exact is None:
            self._exact = open_exact_searcher(
                self.store, self.patch_map, self.settings["exact"], self.logger
            )
        return self._exact

    def search(self, queries: np.ndarray, exclude_ids: tuple[int, int] | None = None):
        if self.mode == "exact":
            return as_search_result(self.exact_searcher.search(queries, exclude_ids))
        from fooled.data import patch_index

        return patch_index.search_reranked(
            self.index,
            queries,
            self.store,
            self.patch_map,
            self.settings["rerank_k"],
            exclude_ids=exclude_ids,
        )

    def exact(self, queries: np.ndarray):
        return as_exact_result(self.exact_searcher.search(queries))

    def describe(self) -> dict[str, Any]:
        """The mode and where it runs, for summary.json's ``index`` section."""
        record: dict[str, Any] = {"mode": self.mode}
        if self._exact is not None:
            record |= {
                "exact_backend": self._exact.backend,
                "exact_hold": self._exact.hold,
                "exact_devices": ",".join(self._exact.devices),
            }
        if self.mode == "approximate":
            record |= {
                "factory": self.settings["factory"],
                "search_params": self.settings["search_params"],
                "rerank_k": self.settings["rerank_k"],
            }
        return record


def index_needed(index_settings: Mapping[str, Any]) -> bool:
    """Whether this run searches a FAISS index (approximate mode), so build_index must run."""
    return resolve_mode(index_settings) == "approximate"


def open_search(
    index_settings: Mapping[str, Any],
    patch_map,
    store,
    index_path: str | None = None,
    record_path: str | None = None,
    logger: logging.Logger = LOGGER,
) -> PatchSearch:
    """The search the config asks for: exact (no index read) or the saved FAISS index."""
    mode = resolve_mode(index_settings)
    index = None
    if mode == "approximate":
        from fooled.data import patch_index

        if index_path is None or record_path is None:
            raise ValueError("approximate mode needs the built index and its record")
        index, _ = patch_index.open_saved_index(index_path, record_path, index_settings, patch_map)
    logger.info("patch search: %s mode", mode)
    return PatchSearch(mode, index_settings, patch_map, store, index, logger)


def index_summary(search: PatchSearch, found, truth, queries_per_seed: int) -> dict[str, Any]:
    """summary.json's ``index`` figures: mode, recall against exact, seconds per seed image.

    ``found`` is the mode's :class:`SearchResult`, ``truth`` the exact
    :class:`ExactResult` for the same queries; seconds per seed image scale the
    measured search (and re-rank) time to ``queries_per_seed`` queries (625 on
    the authors' grid).
    """
    from fooled.data.patch_index import recall_at_1

    n = len(found.ids)
    seconds = found.search_seconds + found.rerank_seconds
    return search.describe() | {
        "n_queries": int(n),
        "recall_at_1": recall_at_1(found.sq_distances, truth.sq_distances),
        "seconds_per_seed_image": seconds * queries_per_seed / max(n, 1),
        "qps": n / seconds if seconds > 0 else float("inf"),
        "exact_seconds_per_seed_image": truth.seconds * queries_per_seed / max(n, 1),
    }

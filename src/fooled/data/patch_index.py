"""The FAISS nearest-neighbour index over the patch database, with exact re-ranking.

The paper searched 37M patches with Prioritized DCI at about five minutes a
query. Here an index is one FAISS ``index_factory`` string from the config
(``"Flat"`` for small databases, a PCA/OPQ reduction with HNSW or IVF codes at
scale), trained on a seeded sample of patches and filled by streaming the
image shards, on the GPU when FAISS sees one (sharded over all GPUs when
there are several) and on the CPU otherwise. Compressed codes alone rank the
true neighbour first for well under 60% of queries, so every query's
``rerank_k`` best candidates are re-ranked against the raw pixels, exactly,
in integers. Recall is measured against a brute-force scan of the same raw
patches and counted tie-aware: any result at the true nearest distance is
correct (the database holds groups of identical patches).
"""

from __future__ import annotations

import logging
import resource
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fooled.core import h5io
from fooled.data.patches import (
    ImageStore,
    PatchMap,
    cut_patches,
    exact_sq_distances,
    grid_positions,
    read_patch_map,
)

LOGGER = logging.getLogger(__name__)


def faiss_module():
    """FAISS, imported late so that modules that only read artifacts do not need it."""
    logging.getLogger("faiss.loader").setLevel(logging.WARNING)  # its AVX probing is noise
    import faiss

    return faiss


def set_threads(threads: int) -> None:
    """Limit FAISS's OpenMP threads (0 leaves FAISS's default)."""
    if threads and threads > 0:
        faiss_module().omp_set_num_threads(int(threads))


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def gpu_count(use_gpu: str | bool) -> int:
    """GPUs to use: all FAISS can run on for ``auto``/``true``, none for ``false``.

    A tiny GPU search runs first, in a child process
    (:func:`fooled.data.faiss_gpu.usable_gpus`): a build without kernels for
    the GPU stops here with one line naming the build and the GPU's compute
    capability, instead of aborting with CUDA error 209 in IVF k-means.
    """
    from fooled.data.faiss_gpu import usable_gpus

    return usable_gpus(use_gpu)


def to_gpu(index, n_gpus: int, float16: bool, logger: logging.Logger = LOGGER):
    """Move a *trained* index to the GPU(s): one GPU, or sharded over several.

    Sharding clones the trained CPU index, so every shard has the same coarse
    quantizer and codec and the shards merge back into one CPU index for
    saving (an untrained index sharded and then trained would give each shard
    its own quantizer, and a merge that silently mixes them). FAISS refuses
    index types it has no GPU version of (HNSW); the index then stays on the
    CPU. Not exercised on this project's CPU machines: no GPU here.
    """
    if n_gpus <= 0:
        return index, False
    faiss = faiss_module()
    try:
        if n_gpus == 1:
            options = faiss.GpuClonerOptions()
            options.useFloat16 = float16
            resources = faiss.StandardGpuResources()
            gpu_index = faiss.index_cpu_to_gpu(resources, 0, index, options)
            gpu_index.referenced_resources = resources  # keep alive with the index
        else:
            options = faiss.GpuMultipleClonerOptions()
            options.shard = True
            options.useFloat16 = float16
            gpu_index = faiss.index_cpu_to_all_gpus(index, options, ngpu=n_gpus)
    except RuntimeError as error:
        logger.warning("index stays on the CPU: FAISS cannot move it to the GPU (%s)", error)
        return index, False
    logger.info("index on %d GPU(s)%s", n_gpus, " (sharded)" if n_gpus > 1 else "")
    return gpu_index, True


def cluster_on_gpus(index, n_gpus: int, make_flat=None) -> Any:
    """Run an IVF index's k-means on the GPU(s); returns the clustering index (keep it alive).

    FAISS's documented way to train an IVF index with GPUs (the trained index
    stays on the CPU): its coarse k-means assigns through ``clustering_index``,
    here an exact flat index on all GPUs. ``make_flat`` builds that flat
    index (default: ``IndexFlatL2`` on ``n_gpus`` GPUs; a test passes a CPU one,
    which trains exactly as FAISS's own default does). Returns None, changing
    nothing, for an index without IVF (HNSW, Flat) or when ``n_gpus`` is 0.
    """
    faiss = faiss_module()
    if n_gpus <= 0 and make_flat is None:
        return None
    try:
        ivf = faiss.extract_index_ivf(index)
    except RuntimeError:
        return None
    if make_flat is None:
        flat = faiss.index_cpu_to_all_gpus(faiss.IndexFlatL2(ivf.d), ngpu=n_gpus)
    else:
        flat = make_flat(ivf.d)
    ivf.clustering_index = flat
    return flat


def train(index, vectors: np.ndarray, n_gpus: int, logger: logging.Logger = LOGGER) -> None:
    """Train on the CPU (PCA/OPQ have no GPU version), the IVF k-means on the GPU(s) if any."""
    clustering = cluster_on_gpus(index, n_gpus)
    if clustering is not None:
        logger.info("IVF k-means on %d GPU(s)", n_gpus)
    try:
        index.train(vectors)
    finally:
        if clustering is not None:  # the index must not keep a pointer to a freed GPU index
            faiss_module().extract_index_ivf(index).clustering_index = None


def to_cpu(index, on_gpu: bool):
    return faiss_module().index_gpu_to_cpu(index) if on_gpu else index


def set_search_params(index, params: str, on_gpu: bool = False) -> None:
    """Apply a FAISS ParameterSpace string such as ``"nprobe=32"`` or ``"efSearch=128"``."""
    if not params:
        return
    faiss = faiss_module()
    space = faiss.GpuParameterSpace() if on_gpu else faiss.ParameterSpace()
    try:
        space.set_index_parameters(index, params)
    except RuntimeError as error:
        raise ValueError(
            f"imagenet.index.search_params '{params}' does not fit: {error}"
        ) from error


def make_index(factory: str, dimension: int):
    faiss = faiss_module()
    try:
        return faiss.index_factory(dimension, factory, faiss.METRIC_L2)
    except RuntimeError as error:
        message = " ".join(str(error).split())[:200]
        raise ValueError(f"imagenet.index.factory '{factory}' is not valid: {message}") from error


def training_sample(
    store: ImageStore, patch_map: PatchMap, n: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """A seeded sample of ``n`` database patch ids (sorted) and their float32 vectors."""
    n = min(n, patch_map.n_patches)
    rng = np.random.default_rng(seed)
    ids = np.sort(rng.choice(patch_map.n_patches, size=n, replace=False))
    vectors = np.empty((n, patch_map.size * patch_map.size * 3), np.float32)
    image_ids = patch_map.image[ids]
    # Read images a block at a time so the sample never holds more than a block of images.
    unique = np.unique(image_ids)
    for start in range(0, unique.size, 512):
        block = unique[start : start + 512]
        mask = np.isin(image_ids, block)
        vectors[mask] = store.patches(patch_map, ids[mask])
    return ids, vectors


@dataclass
class BuildResult:
    index: Any
    n_patches: int
    dimension: int
    factory: str
    on_gpu: bool
    train_seconds: float
    add_seconds: float
    extract_seconds: float
    build_seconds: float
    peak_rss_mb: float
    n_train: int
    extras: dict[str, Any] = field(default_factory=dict)


def build_index(
    store: ImageStore,
    patch_map: PatchMap,
    settings: Mapping[str, Any],
    logger: logging.Logger = LOGGER,
) -> BuildResult:
    """Train on a seeded sample, then add every database patch by streaming the image shards.

    Vectors are added in id order (database image after database image, raster
    order within each), so FAISS's sequential ids are the patch map's ids.
    """
    started = time.perf_counter()
    dimension = patch_map.size * patch_map.size * 3
    index = make_index(settings["factory"], dimension)
    n_gpus = gpu_count(settings.get("use_gpu", "auto"))
    n_train = 0
    train_seconds = 0.0
    if not index.is_trained:
        sample_ids, vectors = training_sample(
            store, patch_map, settings["train_size"], settings["train_seed"]
        )
        n_train = len(sample_ids)
        logger.info("training %s on %d patches", settings["factory"], n_train)
        train_started = time.perf_counter()
        train(index, vectors, n_gpus, logger)
        train_seconds = time.perf_counter() - train_started
        del vectors
    index, on_gpu = to_gpu(index, n_gpus, bool(settings.get("gpu_float16", True)), logger)
    positions = grid_positions(patch_map.image_size, patch_map.size, patch_map.stride)
    cells = positions.size**2
    images_per_block = max(1, settings["add_batch"] // cells)
    add_seconds = extract_seconds = 0.0
    added = 0
    for _, images in store.iter_blocks(patch_map.db_images, images_per_block):
        cut_started = time.perf_counter()
        vectors = cut_patches(images, positions, patch_map.size).astype(np.float32)
        extract_seconds += time.perf_counter() - cut_started
        add_started = time.perf_counter()
        index.add(vectors)
        add_seconds += time.perf_counter() - add_started
        added += vectors.shape[0]
        if (added // vectors.shape[0]) % 20 == 0:
            logger.info("added %d / %d patches", added, patch_map.n_patches)
    if added != patch_map.n_patches or index.ntotal != patch_map.n_patches:
        raise RuntimeError(
            f"index holds {index.ntotal} vectors, the patch map {patch_map.n_patches}"
        )
    index = to_cpu(index, on_gpu)
    build_seconds = time.perf_counter() - started
    logger.info(
        "built %s over %d patches in %.1f s (train %.1f s, add %.1f s, cut %.1f s)",
        settings["factory"],
        added,
        build_seconds,
        train_seconds,
        add_seconds,
        extract_seconds,
    )
    return BuildResult(
        index=index,
        n_patches=added,
        dimension=dimension,
        factory=settings["factory"],
        on_gpu=on_gpu,
        train_seconds=train_seconds,
        add_seconds=add_seconds,
        extract_seconds=extract_seconds,
        build_seconds=build_seconds,
        peak_rss_mb=peak_rss_mb(),
        n_train=n_train,
    )


def code_bytes(index) -> int | None:
    """Bytes of one vector's code (ids and HNSW links not counted); None if FAISS cannot say."""
    try:
        return int(index.sa_code_size())
    except RuntimeError:
        return None


def save_index(index, path: str) -> None:
    """Write the index through a temporary sibling, renamed into place when complete."""
    with h5io.atomic_path(path) as temporary:
        faiss_module().write_index(index, str(temporary))


class IndexMismatchError(ValueError):
    """A stored index was built for another factory string or dimension."""


def check_index(index, meta: Mapping[str, Any], factory: str, dimension: int, source: str) -> None:
    """Refuse an index whose dimension or factory string differs from the config's."""
    if index.d != dimension:
        raise IndexMismatchError(
            f"{source}: index dimension {index.d}, the config needs {dimension}"
        )
    if meta.get("factory") != factory:
        raise IndexMismatchError(
            f"{source}: index built with factory '{meta.get('factory')}', the config says "
            f"'{factory}'"
        )


def load_index(path: str, meta: Mapping[str, Any], factory: str, dimension: int):
    """Read an index and check it against the config (see :func:`check_index`)."""
    try:
        index = faiss_module().read_index(str(path))
    except RuntimeError as error:
        raise ValueError(f"{path}: not a readable FAISS index (truncated?)") from error
    check_index(index, meta, factory, dimension, str(path))
    return index


def ensure_index(
    path: str,
    meta_path: str,
    store: ImageStore,
    patch_map: PatchMap,
    settings: Mapping[str, Any],
    logger: logging.Logger = LOGGER,
):
    """Reuse the index at ``path`` if it matches the config, else rebuild it (and say why)."""
    import json
    from pathlib import Path

    dimension = patch_map.size * patch_map.size * 3
    if Path(path).is_file() and Path(meta_path).is_file():
        meta = json.loads(Path(meta_path).read_text())
        try:
            index = load_index(path, meta, settings["factory"], dimension)
            if index.ntotal == patch_map.n_patches:
                logger.info("reusing %s", path)
                return index, None
            logger.info(
                "rebuilding %s: %d vectors, map has %d", path, index.ntotal, patch_map.n_patches
            )
        except (IndexMismatchError, ValueError) as error:
            logger.info("rebuilding: %s", error)
    result = build_index(store, patch_map, settings, logger)
    save_index(result.index, path)
    h5io.write_text_atomic(
        meta_path, json.dumps({"factory": result.factory, "dimension": dimension})
    )
    return result.index, result


def open_database(
    settings: Mapping[str, Any],
    patch_map_path: str,
    shard_paths: Sequence[Any],
    threads: int,
    preload: bool | None = None,
) -> tuple[dict[str, Any], PatchMap, ImageStore]:
    """What every index rule opens first: its index settings, the patch map, the image store.

    FAISS gets ``imagenet.index.threads`` threads, or the job's when that is 0;
    images are held in memory for re-ranking when ``preload_images`` says so
    (``preload`` overrides it: a one-seed job reads only its candidates' images).
    """
    index_settings = dict(settings["index"])
    set_threads(index_settings["threads"] or threads)
    patch_map = read_patch_map(patch_map_path)
    if preload is None:
        preload = bool(index_settings["preload_images"])
    store = ImageStore([str(path) for path in shard_paths], preload)
    return index_settings, patch_map, store


def open_saved_index(
    index_path: str, record_path: str, index_settings: Mapping[str, Any], patch_map: PatchMap
):
    """The built index, checked against the config, on the GPU(s) when there are any
    (``use_gpu``), with the config's search parameters set."""
    record = h5io.read_attrs(record_path)
    dimension = patch_map.size * patch_map.size * 3
    index = load_index(index_path, record, index_settings["factory"], dimension)
    n_gpus = gpu_count(index_settings.get("use_gpu", "auto"))
    index, on_gpu = to_gpu(index, n_gpus, bool(index_settings.get("gpu_float16", True)))
    set_search_params(index, index_settings["search_params"], on_gpu)
    return index, record


# --------------------------------------------------------------------------- search


@dataclass
class SearchResult:
    ids: np.ndarray  # (nq,) int64 best id after exact re-ranking, -1 if none
    sq_distances: np.ndarray  # (nq,) int64 exact squared L2 of that id
    candidates: np.ndarray  # (nq, rerank_k) int64 the re-ranked candidates, -1 padded
    approx_sq_distances: np.ndarray  # (nq, rerank_k) float32 the index's own distances
    search_seconds: float
    rerank_seconds: float


def search_reranked(
    index,
    queries: np.ndarray,
    store: ImageStore,
    patch_map: PatchMap,
    rerank_k: int,
    exclude_ids: tuple[int, int] | None = None,
    batch: int = 4096,
    rerank_block: int = 16,
) -> SearchResult:
    """Each query's nearest database patch: ``rerank_k`` candidates, re-ranked exactly.

    ``exclude_ids`` (a half-open id range: a seed image's own patches) is
    removed from the candidates; the search then asks for that many more.
    Ties in exact distance go to the candidate the index ranked first.
    """
    queries = np.ascontiguousarray(queries)
    k = rerank_k
    if exclude_ids is not None:
        k += int(exclude_ids[1] - exclude_ids[0])
    k = min(k, patch_map.n_patches)
    started = time.perf_counter()
    distances = np.empty((len(queries), k), np.float32)
    candidates = np.empty((len(queries), k), np.int64)
    for start in range(0, len(queries), batch):
        chunk = queries[start : start + batch].astype(np.float32)
        distances[start : start + batch], candidates[start : start + batch] = index.search(chunk, k)
    search_seconds = time.perf_counter() - started
    started = time.perf_counter()
    valid = candidates >= 0
    if exclude_ids is not None:
        valid &= ~((candidates >= exclude_ids[0]) & (candidates < exclude_ids[1]))
    # Keep the first rerank_k valid candidates of each query, in the index's order.
    rank = np.cumsum(valid, axis=1)
    keep = valid & (rank <= rerank_k)
    rows, cols = np.nonzero(keep)
    exact = np.full(keep.shape, np.iinfo(np.int64).max, np.int64)
    cut = store.cutter(patch_map, candidates[rows, cols])
    # A few queries at a time: their candidates' pixels stay in cache between the cut and
    # the distances (measured 1.9x faster than one pass over all queries, with int32 sums).
    # ``rows`` is sorted, so each block of queries is one slice of (rows, cols).
    bounds = np.searchsorted(rows, np.arange(0, len(queries) + rerank_block, rerank_block))
    for low, high in zip(bounds[:-1], bounds[1:], strict=True):
        if high > low:
            block_rows, block_cols = rows[low:high], cols[low:high]
            raw = cut(candidates[block_rows, block_cols])
            exact[block_rows, block_cols] = exact_sq_distances(queries[block_rows], raw)
    best = np.argmin(exact, axis=1)
    order = np.arange(len(queries))
    best_ids = np.where(keep[order, best], candidates[order, best], -1)
    best_sq = np.where(keep[order, best], exact[order, best], -1)
    # The kept candidates of each query, left-aligned in the index's order, -1 padded.
    kept_candidates = np.full((len(queries), rerank_k), -1, np.int64)
    kept_distances = np.full((len(queries), rerank_k), np.inf, np.float32)
    kept_candidates[rows, rank[rows, cols] - 1] = candidates[rows, cols]
    kept_distances[rows, rank[rows, cols] - 1] = distances[rows, cols]
    rerank_seconds = time.perf_counter() - started
    return SearchResult(
        ids=best_ids,
        sq_distances=best_sq,
        candidates=kept_candidates,
        approx_sq_distances=kept_distances,
        search_seconds=search_seconds,
        rerank_seconds=rerank_seconds,
    )


@dataclass
class ExactResult:
    ids: np.ndarray  # (nq,) int64 a nearest id
    sq_distances: np.ndarray  # (nq,) int64 exact squared L2 of the nearest patch
    seconds: float  # distance computation only (patch cutting excluded)
    cut_seconds: float


def exact_search(
    queries: np.ndarray,
    store: ImageStore,
    patch_map: PatchMap,
    block_patches: int = 32768,
    shortlist: int = 8,
) -> ExactResult:
    """Brute-force nearest neighbour over every database patch, streamed from the shards.

    FAISS's float32 brute force (``faiss.knn``: the same kernel as IndexFlatL2)
    finds each query's ``shortlist`` nearest patches per block; those are then
    measured exactly in integers, because float32 distances of 3,072 values up
    to 255 carry rounding errors of the size of small true differences.
    Nothing larger than one block of patches is ever in memory.
    """
    faiss = faiss_module()
    queries = np.ascontiguousarray(queries)
    query_vectors = queries.astype(np.float32)
    best_sq = np.full(len(queries), np.iinfo(np.int64).max, np.int64)
    best_ids = np.full(len(queries), -1, np.int64)
    positions = grid_positions(patch_map.image_size, patch_map.size, patch_map.stride)
    cells = positions.size**2
    images_per_block = max(1, block_patches // cells)
    seconds = cut_seconds = 0.0
    first_id = 0
    for _, images in store.iter_blocks(patch_map.db_images, images_per_block):
        started = time.perf_counter()
        raw = cut_patches(images, positions, patch_map.size)
        vectors = raw.astype(np.float32)
        cut_seconds += time.perf_counter() - started
        started = time.perf_counter()
        k = min(shortlist, len(vectors))
        _, local = faiss.knn(query_vectors, vectors, k)
        rows = np.repeat(np.arange(len(queries)), k)
        exact = exact_sq_distances(queries[rows], raw[local.ravel()]).reshape(len(queries), k)
        pick = np.argmin(exact, axis=1)
        block_best = exact[np.arange(len(queries)), pick]
        better = block_best < best_sq
        best_sq[better] = block_best[better]
        best_ids[better] = first_id + local[np.arange(len(queries)), pick][better]
        seconds += time.perf_counter() - started
        first_id += len(vectors)
    return ExactResult(ids=best_ids, sq_distances=best_sq, seconds=seconds, cut_seconds=cut_seconds)


def recall_without_rerank(
    found: SearchResult,
    queries: np.ndarray,
    store: ImageStore,
    patch_map: PatchMap,
    exact: ExactResult,
) -> float:
    """Recall@1 of the index's own first candidate: what exact re-ranking adds, measured."""
    first = found.candidates[:, 0]
    valid = first >= 0
    first_sq = np.full(len(queries), -1, np.int64)
    if valid.any():
        raw = store.patches(patch_map, first[valid])
        first_sq[valid] = exact_sq_distances(queries[valid], raw)
    return recall_at_1(first_sq, exact.sq_distances)


def recall_at_1(found_sq: np.ndarray, true_sq: np.ndarray) -> float:
    """Tie-aware recall@1: a result at the true nearest (exact) distance counts as correct."""
    found_sq = np.asarray(found_sq)
    true_sq = np.asarray(true_sq)
    if found_sq.shape != true_sq.shape or found_sq.size == 0:
        raise ValueError(
            f"recall needs matching non-empty arrays, got {found_sq.shape}, {true_sq.shape}"
        )
    correct = (found_sq >= 0) & (found_sq <= true_sq)
    return float(correct.mean())

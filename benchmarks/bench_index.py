"""Recall@1 and queries/s of the patch index against exact search, on real ImageNet images.

Usage (the README's figures come from this, on the 1,000-image sample):

    IMAGENET_ROOT=../shared/data/imagenet-sample/train \\
        python benchmarks/bench_index.py --strides 14 7 4 --json bench_index.json

It ingests the images with the workflow's own code (256x256 shards in a
temporary folder), holds 50 seeded images out of the database, cuts their
patches on the authors' seed grid (resized to 224, 25x25 positions, step 7) as
queries, and for every stride and factory prints, from one run: the build
time and peak memory, recall@1 (tie-aware, exact integer distances) and
queries/s of the index with exact re-ranking, and queries/s of exact brute
force (FAISS's float32 kernel, streamed over the database, with an exact
integer check of its shortlist). Raw patches are never materialised: the
database is cut from the images block by block, at every scale.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from fooled.data import imagenet, patch_index, patches, sources

# Each factory is built once and searched with every "|"-separated setting ("~K": re-rank K
# candidates instead of --rerank). Without --factory, this sweep gives the README's table.
FACTORIES = {
    14: [
        ("PCA64,HNSW32", "efSearch=32|efSearch=48|efSearch=64|efSearch=128"),
        ("PCA64,IVF1024,SQ8", "nprobe=16|nprobe=32"),
        ("OPQ32_128,IVF1024,PQ32", "nprobe=16|nprobe=32"),
    ],
    7: [
        ("PCA64,HNSW32", "efSearch=64|efSearch=128|efSearch=128~30"),
        ("PCA64,IVF4096,SQ8", "nprobe=32|nprobe=64"),
    ],
    4: [
        ("PCA64,HNSW32", "efSearch=64|efSearch=128|efSearch=128~30|efSearch=256~30"),
        ("PCA64,IVF8192,SQ8", "nprobe=32|nprobe=64"),
    ],
}


def ingest(root: str, folder: Path, n_shards: int, logger: logging.Logger):
    settings = imagenet.load_settings({"root": root, "fraction": 1.0, "n_shards": n_shards})
    manifest = imagenet.build_manifest(settings, logger)
    paths = []
    started = time.perf_counter()
    for shard in range(n_shards):
        path = folder / f"shard_{shard:04d}.h5"
        imagenet.write_shard(path, manifest, shard, settings, logger)
        paths.append(str(path))
    seconds = time.perf_counter() - started
    return paths, len(manifest.files), seconds


def extraction_rate(store: patches.ImageStore, patch_map: patches.PatchMap) -> float:
    """Patches cut (and converted to float32 for FAISS) per second on one core."""
    positions = patches.grid_positions(patch_map.image_size, patch_map.size, patch_map.stride)
    started = time.perf_counter()
    count = 0
    for _, images in store.iter_blocks(patch_map.db_images, 64):
        count += patches.cut_patches(images, positions, patch_map.size).astype(np.float32).shape[0]
    return count / (time.perf_counter() - started)


def evaluate(built, params, queries, exact, store, patch_map, rerank_k=10) -> dict:
    """One search setting of a built index: recall@1 with and without re-ranking, queries/s."""
    patch_index.set_search_params(built.index, params)
    found = patch_index.search_reranked(built.index, queries, store, patch_map, rerank_k)
    seconds = found.search_seconds + found.rerank_seconds
    qps_exact = len(queries) / exact.seconds
    return {
        "n_images": int(patch_map.db_images.size),
        "n_patches": patch_map.n_patches,
        "n_queries": len(queries),
        "search_params": params,
        "recall_at_1": patch_index.recall_at_1(found.sq_distances, exact.sq_distances),
        "recall_at_1_without_rerank": patch_index.recall_without_rerank(
            found, queries, store, patch_map, exact
        ),
        "qps": len(queries) / seconds,
        "qps_exact": qps_exact,
        "speedup": len(queries) / seconds / qps_exact,
        "search_seconds": found.search_seconds,
        "rerank_seconds": found.rerank_seconds,
        "build_seconds": built.build_seconds,
        "train_seconds": built.train_seconds,
        "add_seconds": built.add_seconds,
        "peak_rss_mb": built.peak_rss_mb,
        "code_bytes": patch_index.code_bytes(built.index),
    }


def report(r: dict) -> None:
    print(
        f"  {r['factory']:<24} {r['search_params']:<13} re-rank {r['rerank_k']:<3} "
        f"recall@1 {r['recall_at_1']:.4f} "
        f"(no re-rank {r['recall_at_1_without_rerank']:.3f})  {r['qps']:>7,.0f} q/s "
        f"(x{r['speedup']:,.0f} exact; search {r['search_seconds']:.2f} s, "
        f"re-rank {r['rerank_seconds']:.2f} s)  build {r['build_seconds']:.0f} s "
        f"(train {r['train_seconds']:.0f} s)  peak RSS {r['peak_rss_mb']:,.0f} MiB  "
        f"code {r['code_bytes']} B",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=os.environ.get("IMAGENET_ROOT"))
    parser.add_argument("--strides", type=int, nargs="+", default=[14])
    parser.add_argument(
        "--queries",
        type=int,
        nargs="+",
        default=[5000, 2000, 1000],
        help="queries per stride, in the order of --strides (last one repeats)",
    )
    parser.add_argument("--heldout", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rerank", type=int, default=10)
    parser.add_argument("--train-size", type=int, default=100000)
    parser.add_argument(
        "--factory",
        action="append",
        default=None,
        help="FACTORY@PARAMS[~RERANK][|...], e.g. 'PCA64,HNSW32@efSearch=64|efSearch=128~30'",
    )
    parser.add_argument("--json", default=None, help="also write the results here")
    arguments = parser.parse_args()
    if not arguments.root:
        sys.exit("bench_index: set IMAGENET_ROOT or pass --root")
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logger = logging.getLogger("bench_index")
    logger.setLevel(logging.INFO)
    patch_index.set_threads(arguments.threads)
    results = []
    with tempfile.TemporaryDirectory() as folder:
        shard_paths, n_images, ingest_seconds = ingest(arguments.root, Path(folder), 4, logger)
        print(
            f"ingest: {n_images} images in {ingest_seconds:.1f} s "
            f"({n_images / ingest_seconds:.1f} images/s, 1 core)"
        )
        store = patches.ImageStore(shard_paths, preload=True)
        for position, stride in enumerate(arguments.strides):
            n_queries = arguments.queries[min(position, len(arguments.queries) - 1)]
            patch_map = patches.build_patch_map(shard_paths, 256, 32, stride, arguments.heldout, 0)
            rate = extraction_rate(store, patch_map)
            queries = sources.heldout_queries(
                store,
                patch_map,
                {"seed_size": 224, "grid": 25, "step": 7},
                {"n_queries": n_queries, "seed": 0},
            )
            print(
                f"\nstride {stride}: {patch_map.db_images.size} database images, "
                f"{patch_map.n_patches:,} patches; {len(queries):,} queries from "
                f"{patch_map.heldout_images.size} held-out images; "
                f"patch extraction {rate:,.0f} patches/s/core"
            )
            exact = patch_index.exact_search(queries, store, patch_map)
            qps_exact = len(queries) / exact.seconds
            print(f"  exact brute force: {qps_exact:,.1f} queries/s ({exact.seconds:.1f} s)")
            factories = (
                [tuple(f.split("@", 1)) if "@" in f else (f, "") for f in arguments.factory]
                if arguments.factory
                else FACTORIES.get(stride, FACTORIES[14])
            )
            for factory, params in factories:
                settings = {
                    "factory": factory,
                    "train_size": arguments.train_size,
                    "train_seed": 0,
                    "add_batch": 32768,
                    "use_gpu": "auto",
                    "gpu_float16": True,
                }
                built = patch_index.build_index(store, patch_map, settings, logger)
                for setting in params.split("|"):  # several settings, one build
                    search_params, _, rerank = setting.partition("~")  # "efSearch=64~30"
                    rerank_k = int(rerank) if rerank else arguments.rerank
                    record = evaluate(
                        built, search_params, queries, exact, store, patch_map, rerank_k
                    )
                    record |= {"stride": stride, "factory": factory, "rate": rate}
                    record |= {"rerank_k": rerank_k, "threads": arguments.threads}
                    results.append(record)
                    report(record)
                    if arguments.json:  # after every record: an interrupted run keeps its figures
                        Path(arguments.json).write_text(json.dumps(results, indent=2) + "\n")
                del built


# --------------------------------------------------------------------------- scale (issue 11)
#
# Recall at paper scale on the CPU: ``bench_index.py scale ...``. The database (731 of the
# 1,000 sample images at 256x256, stride 1: 731 x 50,625 = 37.0M patches; 114 GB as raw
# patches) is never materialised: both the exact ground truth and the index add cut the
# patches from the images, image after image, in id order. Every result is kept per prefix
# of the database (the first 20, 80, 316, 600, 731 images: 1.0M, 4.0M, 16.0M, 30.4M, 37.0M
# patches), so one pass gives the whole curve, and every step is checkpointed under --work:
#   truth/chunk_NNNN.npz   exact nearest (squared distance, id) of every query over a chunk
#   index/<tag>/prefix_NNNN.json   each search setting's results at a prefix
# A restart skips what is on disk.

SCALE_PREFIXES = (20, 80, 316, 600, 731)


def scale_database(
    root: str, work: Path, n_images_total: int, db_images: int, stride: int, logger: logging.Logger
):
    """Shards of every sample image (ingested once into --work), the patch map, the store."""
    shard_dir = work / "shards"
    shard_dir.mkdir(parents=True, exist_ok=True)
    n_shards = 4
    paths = [str(shard_dir / f"shard_{shard:04d}.h5") for shard in range(n_shards)]
    if not all(Path(p).is_file() for p in paths):
        paths, n_images, seconds = ingest(root, shard_dir, n_shards, logger)
        print(f"ingest: {n_images} images in {seconds:.1f} s", flush=True)
    store = patches.ImageStore(paths, preload=True)
    heldout = store.n_images - db_images
    patch_map = patches.build_patch_map(paths, 256, 32, stride, heldout, 0)
    return store, patch_map


def scale_queries(store, patch_map, n_queries: int) -> np.ndarray:
    return sources.heldout_queries(
        store,
        patch_map,
        {"seed_size": 224, "grid": 25, "step": 7},
        {"n_queries": n_queries, "seed": 0},
    )


def scale_truth(store, patch_map, queries, work: Path, chunk_images: int, backend: str) -> None:
    """Exact nearest patch of every query, a chunk of database images at a time (resumable)."""
    from fooled.data import patch_search

    folder = work / "truth"
    folder.mkdir(parents=True, exist_ok=True)
    cells = patch_map.cells_per_image
    n_db = int(patch_map.db_images.size)
    chunks = list(range(0, n_db, chunk_images))
    started = time.perf_counter()
    done_now = 0
    for number, start in enumerate(chunks):
        path = folder / f"chunk_{number:04d}.npz"
        if path.is_file():
            continue
        stop = min(start + chunk_images, n_db)
        images = store.images(patch_map.db_images[start:stop])
        searcher = patch_search.ExactSearcher(
            [images],
            patch_map.size,
            patch_map.stride,
            backend=backend,
            hold="images",
            block_patches=len(images) * cells,
            query_batch=len(queries),
            first_id=start * cells,
        )
        found = searcher.search(queries)
        temporary = folder / f".chunk_{number:04d}.tmp.npz"
        np.savez(
            temporary,
            sq=found.sq_distances,
            ids=found.ids,
            start=start,
            stop=stop,
            seconds=found.seconds,
            cut_seconds=found.cut_seconds,
        )
        os.replace(temporary, path)
        done_now += 1
        elapsed = time.perf_counter() - started
        left = (len(chunks) - number - 1) * elapsed / done_now
        rate = len(queries) * (stop - start) * cells / found.seconds
        print(
            f"truth: images {stop}/{n_db} ({stop * cells:,} patches), chunk {found.seconds:.1f} s "
            f"(cut {found.cut_seconds:.1f} s), {rate:,.0f} distances/s; "
            f"about {left / 60:.0f} min left",
            flush=True,
        )


def truth_at(work: Path, n_images: int) -> tuple[np.ndarray, np.ndarray, float] | None:
    """Exact (sq, ids, seconds) over the first ``n_images`` database images, None if not done."""
    from fooled.data.patch_search import merge_best

    best_sq = best_ids = None
    seconds = 0.0
    for path in sorted((work / "truth").glob("chunk_*.npz")):
        with np.load(path) as chunk:
            if int(chunk["stop"]) > n_images:
                continue
            if best_sq is None:
                best_sq, best_ids = chunk["sq"].copy(), chunk["ids"].copy()
            else:
                merge_best(best_sq, best_ids, chunk["sq"], chunk["ids"])
            seconds += float(chunk["seconds"])
            covered = int(chunk["stop"])
    if best_sq is None or covered != n_images:
        return None
    return best_sq, best_ids, seconds


def scale_index(
    store,
    patch_map,
    queries,
    work: Path,
    factory: str,
    settings: list[str],
    train_size: int,
    add_images: int,
    prefixes,
    logger,
) -> None:
    """Build one index by adding images in id order; at each prefix, search every setting."""
    tag = factory.replace(",", "_")
    folder = work / "index" / tag
    folder.mkdir(parents=True, exist_ok=True)
    dimension = patch_map.size * patch_map.size * 3
    index = patch_index.make_index(factory, dimension)
    started = time.perf_counter()
    _, vectors = patch_index.training_sample(store, patch_map, train_size, 0)
    sample_seconds = time.perf_counter() - started
    started = time.perf_counter()
    index.train(vectors)
    train_seconds = time.perf_counter() - started
    del vectors
    print(
        f"index {factory}: sample {sample_seconds:.0f} s, train {train_seconds:.0f} s "
        f"on {train_size:,} patches; peak RSS {patch_index.peak_rss_mb():,.0f} MiB",
        flush=True,
    )
    positions = patches.grid_positions(patch_map.image_size, patch_map.size, patch_map.stride)
    cells = positions.size**2
    add_seconds = cut_seconds = 0.0
    n_db = int(patch_map.db_images.size)
    targets = sorted(p for p in prefixes if p <= n_db)
    added_images = 0
    for target in targets:
        while added_images < target:
            stop = min(added_images + add_images, target)
            images = store.images(patch_map.db_images[added_images:stop])
            tick = time.perf_counter()
            batch = patches.cut_patches(images, positions, patch_map.size).astype(np.float32)
            cut_seconds += time.perf_counter() - tick
            tick = time.perf_counter()
            index.add(batch)
            add_seconds += time.perf_counter() - tick
            del batch
            added_images = stop
        print(
            f"index: {index.ntotal:,} patches added (add {add_seconds:.0f} s, cut "
            f"{cut_seconds:.0f} s); peak RSS {patch_index.peak_rss_mb():,.0f} MiB",
            flush=True,
        )
        records = _search_prefix(
            index,
            settings,
            queries,
            store,
            patch_map,
            target,
            cells,
            factory,
            int(index.ntotal),
            {
                "add_seconds": add_seconds,
                "cut_seconds": cut_seconds,
                "train_seconds": train_seconds,
                "train_size": train_size,
            },
        )
        path = folder / f"prefix_{target:04d}.json"
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(records) + "\n")
        os.replace(temporary, path)


def _search_prefix(
    index,
    settings: list[str],
    queries: np.ndarray,
    store,
    patch_map: patches.PatchMap,
    target: int,
    cells: int,
    factory: str,
    n_patches: int,
    build: dict,
) -> list[dict]:
    """Every search setting (``params~rerank_k``) on an index holding the first ``target``
    database images: one record each, with the build's figures, printed as it goes."""
    sub_map = patches.PatchMap(
        image=patch_map.image[: target * cells],
        y=patch_map.y[: target * cells],
        x=patch_map.x[: target * cells],
        db_images=patch_map.db_images[:target],
        heldout_images=patch_map.heldout_images,
        shard_offsets=patch_map.shard_offsets,
        size=patch_map.size,
        stride=patch_map.stride,
        image_size=patch_map.image_size,
    )
    records = []
    for setting in settings:
        params, _, rerank = setting.partition("~")
        rerank_k = int(rerank) if rerank else 10
        patch_index.set_search_params(index, params)
        found = patch_index.search_reranked(index, queries, store, sub_map, rerank_k)
        records.append(
            {
                "factory": factory,
                "search_params": params,
                "rerank_k": rerank_k,
                "n_images": target,
                "n_patches": n_patches,
                "n_queries": len(queries),
                "search_seconds": found.search_seconds,
                "rerank_seconds": found.rerank_seconds,
                "qps": len(queries) / (found.search_seconds + found.rerank_seconds),
                "found_sq": found.sq_distances.tolist(),
                "found_ids": found.ids.tolist(),
            }
            | build
            | {"peak_rss_mb": patch_index.peak_rss_mb()}
        )
        print(
            f"  {n_patches:>11,} {params:<12} re-rank {rerank_k:<5} "
            f"{records[-1]['qps']:>8,.1f} q/s (search {found.search_seconds:.2f} s, "
            f"re-rank {found.rerank_seconds:.2f} s)",
            flush=True,
        )
    return records


class WindowProjector:
    """PCA projections of every grid patch of an image, by FFT correlation.

    A PCA-d projection of the patch at (y, x) is ``A @ patch + b``: each of the
    d rows of ``A`` is a 32x32x3 filter correlated with the image, so all
    50,625 stride-1 projections of a 256x256 image cost d inverse FFTs
    (about 4e8 flops) instead of a 50,625 x 3,072 x d product (4e10). The
    values equal FAISS's ``PCAMatrix.apply`` up to float rounding (checked on
    the first image). This is how the 37M-patch index is filled on 2 shared
    cores; the index searched is still ``PCA{d},IVF..,SQ8`` (IndexPreTransform).
    """

    def __init__(self, pca, size: int, image_size: int, stride: int) -> None:
        import faiss
        from scipy import fft

        self.fft = fft
        d = pca.d_out
        self.matrix = faiss.vector_to_array(pca.A).reshape(d, size, size, 3)
        self.offset = faiss.vector_to_array(pca.b).astype(np.float32)
        self.size, self.image_size, self.stride = size, image_size, stride
        self.shape = (image_size, image_size)
        # Correlation = convolution with the flipped filter; its spectrum per (filter, channel).
        flipped = self.matrix[:, ::-1, ::-1, :].transpose(0, 3, 1, 2)  # (d, 3, size, size)
        self.spectra = fft.rfft2(flipped, s=self.shape, axes=(2, 3)).astype(np.complex64)

    def project(self, image: np.ndarray) -> np.ndarray:
        """(cells, d) float32 projections of every grid patch, in raster (id) order."""
        channels = image.astype(np.float32).transpose(2, 0, 1)  # (3, H, W)
        spectrum = self.fft.rfft2(channels, axes=(1, 2)).astype(np.complex64)
        product = np.einsum("chw,dchw->dhw", spectrum, self.spectra)
        full = self.fft.irfft2(product, s=self.shape, axes=(1, 2))  # (d, H, W) full convolution
        last = self.size - 1  # full-convolution index of the window starting at 0
        positions = np.arange(0, self.image_size - self.size + 1, self.stride) + last
        valid = full[:, positions][:, :, positions]  # (d, gy, gx)
        return (valid.reshape(valid.shape[0], -1).T + self.offset).astype(np.float32)


def scale_index_fft(
    store,
    patch_map,
    queries,
    work: Path,
    dims: int,
    lists: int,
    settings: list[str],
    train_size: int,
    prefixes,
    search_only: bool = False,
) -> None:
    """``PCA{dims},IVF{lists},SQ8`` filled through :class:`WindowProjector` (resumable training)."""
    import faiss

    factory = f"PCA{dims},IVF{lists},SQ8"
    tag = factory.replace(",", "_") + "_fft"
    folder = work / "index" / tag
    folder.mkdir(parents=True, exist_ok=True)
    pca_path, ivf_path = folder / "pca.faiss", folder / "ivf_trained.faiss"
    train_seconds = 0.0
    if pca_path.is_file() and ivf_path.is_file():
        pca = faiss.read_VectorTransform(str(pca_path))
        ivf = faiss.read_index(str(ivf_path))
        print(f"index {factory}: trained transform and lists read from {folder}", flush=True)
    else:
        started = time.perf_counter()
        _, vectors = patch_index.training_sample(store, patch_map, train_size, 0)
        pca = faiss.PCAMatrix(vectors.shape[1], dims)
        pca.train(vectors)
        reduced = pca.apply(vectors)
        del vectors
        ivf = faiss.index_factory(dims, f"IVF{lists},SQ8")
        ivf.train(reduced)
        train_seconds = time.perf_counter() - started
        faiss.write_VectorTransform(pca, str(pca_path))
        faiss.write_index(ivf, str(ivf_path))
        print(
            f"index {factory}: trained on {train_size:,} patches in {train_seconds:.0f} s",
            flush=True,
        )
    projector = WindowProjector(pca, patch_map.size, patch_map.image_size, patch_map.stride)
    cells = patch_map.cells_per_image
    first = store.images(patch_map.db_images[:1])[0]
    check_ids = np.arange(0, cells, max(1, cells // 50))
    direct = pca.apply(
        patches.cut_patches(
            first[None],
            patches.grid_positions(patch_map.image_size, patch_map.size, patch_map.stride),
            patch_map.size,
        )[check_ids].astype(np.float32)
    )
    error = float(np.abs(projector.project(first)[check_ids] - direct).max())
    print(
        f"FFT projection vs PCAMatrix.apply: max |difference| {error:.2e} "
        f"(projections up to {np.abs(direct).max():.0f})",
        flush=True,
    )
    index = faiss.IndexPreTransform(pca, ivf)
    n_db = int(patch_map.db_images.size)
    project_seconds = add_seconds = 0.0
    added = 0
    targets = sorted(p for p in prefixes if p <= n_db)
    existing = sorted(folder.glob("ivf_filled_*.faiss"))
    if search_only and existing:  # more settings on the filled lists of the largest prefix
        ivf = faiss.read_index(str(existing[-1]))
        index = faiss.IndexPreTransform(pca, ivf)
        added = int(existing[-1].stem.rsplit("_", 1)[1])
        targets = [added]
        print(f"index: {ivf.ntotal:,} patches read from {existing[-1]}", flush=True)
    for target in targets:
        while added < target:
            block = store.images(patch_map.db_images[added : min(added + 4, target)])
            tick = time.perf_counter()
            vectors = np.concatenate([projector.project(image) for image in block])
            project_seconds += time.perf_counter() - tick
            tick = time.perf_counter()
            ivf.add(vectors)
            add_seconds += time.perf_counter() - tick
            added += len(block)
        print(
            f"index: {ivf.ntotal:,} patches added (FFT projection {project_seconds:.0f} s, "
            f"add {add_seconds:.0f} s); peak RSS {patch_index.peak_rss_mb():,.0f} MiB",
            flush=True,
        )
        records = _search_prefix(
            index,
            settings,
            queries,
            store,
            patch_map,
            target,
            cells,
            factory,
            int(ivf.ntotal),
            {
                "add_seconds": add_seconds,
                "project_seconds": project_seconds,
                "train_seconds": train_seconds,
                "train_size": train_size,
            },
        )
        path = folder / f"prefix_{target:04d}.json"
        if search_only and path.is_file():
            records = json.loads(path.read_text()) + records
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(records) + "\n")
        os.replace(temporary, path)
    if search_only:
        return
    # The filled lists of the largest prefix, for more settings later (--search-only).
    filled = folder / f"ivf_filled_{added:04d}.faiss"
    faiss.write_index(ivf, str(filled) + ".tmp")
    os.replace(str(filled) + ".tmp", filled)
    print(f"index: filled lists written to {filled}", flush=True)


def scale_report(work: Path, cells: int, n_queries: int, out: str | None) -> None:
    """The curve: recall@1 and q/s of every setting against exact, at every prefix measured."""
    rows = []
    for path in sorted((work / "index").glob("*/prefix_*.json")):
        for record in json.loads(path.read_text()):
            truth = truth_at(work, record["n_images"])
            if truth is None:
                continue
            true_sq, _, exact_seconds = truth
            recall = patch_index.recall_at_1(np.asarray(record["found_sq"]), true_sq)
            row = {k: v for k, v in record.items() if not k.startswith("found_")}
            row["fill"] = "FFT" if path.parent.name.endswith("_fft") else "direct"
            row |= {
                "recall_at_1": recall,
                "exact_seconds": exact_seconds,
                "qps_exact": n_queries / exact_seconds,
            }
            rows.append(row)
    for n_images in SCALE_PREFIXES:
        truth = truth_at(work, n_images)
        if truth is not None:
            print(
                f"exact: {n_images} images, {n_images * cells:,} patches, "
                f"{n_queries / truth[2]:.3f} q/s ({truth[2]:.0f} s for {n_queries} queries)"
            )
    print("| patches | factory (filled) | search | re-rank | recall@1 | q/s | exact q/s |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for row in sorted(
        rows, key=lambda r: (r["n_patches"], r["fill"], r["search_params"], r["rerank_k"])
    ):
        print(
            f"| {row['n_patches']:,} | `{row['factory']}` ({row['fill']}) | "
            f"{row['search_params']} | {row['rerank_k']} | {row['recall_at_1']:.3f} | "
            f"{row['qps']:,.1f} | {row['qps_exact']:.3f} |"
        )
    if out:
        Path(out).write_text(json.dumps(rows, indent=2) + "\n")


def scale_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(
        prog="bench_index.py scale", description="recall@1 at 30M+ patches on the CPU"
    )
    parser.add_argument("phase", choices=["truth", "index", "report"])
    parser.add_argument("--root", default=os.environ.get("IMAGENET_ROOT"))
    parser.add_argument("--work", required=True, help="checkpoint folder (kept between runs)")
    parser.add_argument("--db-images", type=int, default=731)
    parser.add_argument("--stride", type=int, default=1)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--chunk-images", type=int, default=4, help="truth checkpoint size")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--backend",
        default="torch",
        choices=["numpy", "torch"],
        help="exact search: torch._int_mm (int8, AVX512-VNNI here) or numpy float32 BLAS",
    )
    parser.add_argument("--factory", default="PCA128,IVF16384_HNSW32,SQ8")
    parser.add_argument(
        "--settings",
        default="nprobe=32~10|nprobe=32~100|nprobe=32~300|nprobe=128~100|nprobe=128~300"
        "|nprobe=128~1000",
        help="'|'-separated PARAMS~RERANK settings searched at every prefix",
    )
    parser.add_argument("--train-size", type=int, default=200000)
    parser.add_argument("--add-images", type=int, default=4)
    parser.add_argument("--prefixes", type=int, nargs="+", default=list(SCALE_PREFIXES))
    parser.add_argument(
        "--search-only",
        action="store_true",
        help="with --fft: search --settings on the saved filled lists of the largest prefix",
    )
    parser.add_argument(
        "--fft",
        type=str,
        default=None,
        metavar="DIMS,LISTS",
        help="fill PCA{DIMS},IVF{LISTS},SQ8 through FFT projections (e.g. 128,1024)",
    )
    parser.add_argument("--json", default=None)
    arguments = parser.parse_args(argv)
    if not arguments.root:
        sys.exit("bench_index scale: set IMAGENET_ROOT or pass --root")
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logger = logging.getLogger("bench_index")
    patch_index.set_threads(arguments.threads)
    work = Path(arguments.work)
    store, patch_map = scale_database(
        arguments.root, work, 1000, arguments.db_images, arguments.stride, logger
    )
    queries = scale_queries(store, patch_map, arguments.queries)
    print(
        f"database: {patch_map.db_images.size} images, {patch_map.n_patches:,} patches; "
        f"{len(queries)} queries from {patch_map.heldout_images.size} held-out images",
        flush=True,
    )
    if arguments.phase == "truth":
        if arguments.backend == "torch":
            import torch

            torch.set_num_threads(arguments.threads)
        scale_truth(store, patch_map, queries, work, arguments.chunk_images, arguments.backend)
    elif arguments.phase == "index" and arguments.fft:
        dims, lists = (int(v) for v in arguments.fft.split(","))
        scale_index_fft(
            store,
            patch_map,
            queries,
            work,
            dims,
            lists,
            arguments.settings.split("|"),
            arguments.train_size,
            arguments.prefixes,
            arguments.search_only,
        )
    elif arguments.phase == "index":
        scale_index(
            store,
            patch_map,
            queries,
            work,
            arguments.factory,
            arguments.settings.split("|"),
            arguments.train_size,
            arguments.add_images,
            arguments.prefixes,
            logger,
        )
    else:
        scale_report(work, patch_map.cells_per_image, len(queries), arguments.json)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "scale":
        scale_main(sys.argv[2:])
    else:
        main()

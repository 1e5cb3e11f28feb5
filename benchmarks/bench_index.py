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
from fooled.data.window_projection import WindowProjector

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
# patches) is never materialised: the exact ground truth cuts the patches from the images,
# and the index (built from --factory by the product's patch_index.make_index) is filled
# image after image, in id order, with cut patches or (--fill fft) the FFT projections of
# fooled.data.window_projection. Every result is kept per prefix of the database (the first
# 20, 80, 316, 600, 731 images: 1.0M, 4.0M, 16.0M, 30.4M, 37.0M patches), so one pass gives
# the whole curve, and every step is checkpointed under --work:
#   truth/chunk_NNNN.npz   exact nearest (squared distance, id) of every query over a chunk
#   index/<tag>/trained.faiss   the trained, empty index
#   index/<tag>/prefix_NNNN.json   each search setting's results at a prefix
#   index/<tag>/filled_NNNN.faiss   (--fill fft) the index filled to the largest prefix
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
    fill: str,
    settings: list[str],
    train_size: int,
    add_images: int,
    prefixes,
    search_only: bool = False,
) -> None:
    """Build the index of ``factory`` (the product's ``make_index``), train it on a seeded
    sample (saved, so a restart skips it), fill it with the database images in id order
    and, at each prefix, search every setting.

    ``fill``: ``direct`` cuts the patches and adds them (FAISS applies the index's
    transform), ``fft`` adds the transform of every patch of an image at once
    (:class:`fooled.data.window_projection.WindowProjector`; factories that start with
    a PCA). With ``fft`` the filled index of the largest prefix is saved too, and
    ``search_only`` searches more settings on it.
    """
    faiss = patch_index.faiss_module()
    tag = factory.replace(",", "_") + ("_fft" if fill == "fft" else "")
    folder = work / "index" / tag
    folder.mkdir(parents=True, exist_ok=True)
    trained_path = folder / "trained.faiss"
    train_seconds = 0.0
    if trained_path.is_file():
        index = faiss.read_index(str(trained_path))
        print(f"index {factory}: trained index read from {trained_path}", flush=True)
    else:
        index = patch_index.make_index(factory, patch_map.size * patch_map.size * 3)
        started = time.perf_counter()
        _, vectors = patch_index.training_sample(store, patch_map, train_size, 0)
        sample_seconds = time.perf_counter() - started
        started = time.perf_counter()
        patch_index.train(index, vectors, 0)
        train_seconds = time.perf_counter() - started
        del vectors
        faiss.write_index(index, str(trained_path) + ".tmp")
        os.replace(str(trained_path) + ".tmp", trained_path)
        print(
            f"index {factory}: sample {sample_seconds:.0f} s, train {train_seconds:.0f} s "
            f"on {train_size:,} patches; peak RSS {patch_index.peak_rss_mb():,.0f} MiB",
            flush=True,
        )
    cells = patch_map.cells_per_image
    n_db = int(patch_map.db_images.size)
    targets = sorted(p for p in prefixes if p <= n_db)
    existing = sorted(folder.glob("filled_*.faiss"))
    added = 0
    if search_only and existing:  # more settings on the filled index of the largest prefix
        index = faiss.read_index(str(existing[-1]))
        added = int(existing[-1].stem.rsplit("_", 1)[1])
        targets = [added]
        print(f"index: {index.ntotal:,} patches read from {existing[-1]}", flush=True)
    add = _filler(index, store, patch_map, fill)
    seconds = {"add_seconds": 0.0, "prepare_seconds": 0.0}
    for target in targets:
        while added < target:
            stop = min(added + add_images, target)
            for name, took in add(store.images(patch_map.db_images[added:stop])).items():
                seconds[name] += took
            added = stop
        print(
            f"index: {index.ntotal:,} patches added ({fill} fill: prepare "
            f"{seconds['prepare_seconds']:.0f} s, add {seconds['add_seconds']:.0f} s); "
            f"peak RSS {patch_index.peak_rss_mb():,.0f} MiB",
            flush=True,
        )
        build = seconds | {"fill": fill, "train_seconds": train_seconds, "train_size": train_size}
        records = _search_prefix(
            index, settings, queries, store, patch_map, target, cells, factory, build
        )
        path = folder / f"prefix_{target:04d}.json"
        if search_only and path.is_file():
            records = json.loads(path.read_text()) + records
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(records) + "\n")
        os.replace(temporary, path)
    if fill == "fft" and not search_only:  # the largest prefix, for more settings later
        filled = folder / f"filled_{added:04d}.faiss"
        faiss.write_index(index, str(filled) + ".tmp")
        os.replace(str(filled) + ".tmp", filled)
        print(f"index: filled index written to {filled}", flush=True)


def _filler(index, store, patch_map: patches.PatchMap, fill: str):
    """A function adding a block of database images to ``index``; it returns its seconds."""
    positions = patches.grid_positions(patch_map.image_size, patch_map.size, patch_map.stride)
    add = index.add
    if fill == "fft":
        projector = WindowProjector(index, patch_map)
        _check_projections(projector, index, store, patch_map)
        add = projector.add

    def prepare(images) -> np.ndarray:
        if fill == "fft":
            return np.concatenate([projector.project(image) for image in images])
        return patches.cut_patches(images, positions, patch_map.size).astype(np.float32)

    def add_images(images) -> dict[str, float]:
        tick = time.perf_counter()
        vectors = prepare(images)
        prepared = time.perf_counter()
        add(vectors)
        return {"prepare_seconds": prepared - tick, "add_seconds": time.perf_counter() - prepared}

    return add_images


def _check_projections(projector: WindowProjector, index, store, patch_map) -> None:
    """Print how far the FFT projections of the first image are from the index's transform."""
    faiss = patch_index.faiss_module()
    transform = faiss.downcast_index(index).chain.at(0)
    cells = patch_map.cells_per_image
    first = store.images(patch_map.db_images[:1])[0]
    check_ids = np.arange(0, cells, max(1, cells // 50))
    positions = patches.grid_positions(patch_map.image_size, patch_map.size, patch_map.stride)
    cut = patches.cut_patches(first[None], positions, patch_map.size)[check_ids]
    direct = transform.apply(cut.astype(np.float32))
    error = float(np.abs(projector.project(first)[check_ids] - direct).max())
    print(
        f"FFT projection vs the index's transform: max |difference| {error:.2e} "
        f"(projections up to {np.abs(direct).max():.0f})",
        flush=True,
    )


def _search_prefix(
    index,
    settings: list[str],
    queries: np.ndarray,
    store,
    patch_map: patches.PatchMap,
    target: int,
    cells: int,
    factory: str,
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
                "n_patches": int(index.ntotal),
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
            f"  {index.ntotal:>11,} {params:<12} re-rank {rerank_k:<5} "
            f"{records[-1]['qps']:>8,.1f} q/s (search {found.search_seconds:.2f} s, "
            f"re-rank {found.rerank_seconds:.2f} s)",
            flush=True,
        )
    return records


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
        "--fill",
        choices=["direct", "fft"],
        default="direct",
        help="add cut patches (direct), or the FFT projections of whole images (fft: a "
        "--factory that starts with a PCA, e.g. PCA128,IVF1024,SQ8)",
    )
    parser.add_argument(
        "--search-only",
        action="store_true",
        help="with --fill fft: search --settings on the saved filled index of the largest prefix",
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
    elif arguments.phase == "index":
        scale_index(
            store,
            patch_map,
            queries,
            work,
            arguments.factory,
            arguments.fill,
            arguments.settings.split("|"),
            arguments.train_size,
            arguments.add_images,
            arguments.prefixes,
            arguments.search_only,
        )
    else:
        scale_report(work, patch_map.cells_per_image, len(queries), arguments.json)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "scale":
        scale_main(sys.argv[2:])
    else:
        main()

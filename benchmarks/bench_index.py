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
    settings = imagenet.load_settings(
        {"root": root, "fraction": 1.0, "n_shards": n_shards},
        Path(__file__).resolve().parents[1] / "workflow" / "schemas" / "imagenet.schema.yaml",
    )
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


if __name__ == "__main__":
    main()

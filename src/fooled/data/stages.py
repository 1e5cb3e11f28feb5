"""Stage functions of the shared data rules: MNIST and the ImageNet patch database.

Each is what a rule's three-line script runs (``run_script(snakemake, stage)``)
and what the tests call directly with a :class:`fooled.core.stage.Job`.
"""

from __future__ import annotations

import json
import logging
import os
import sys

import numpy as np

from fooled.core import h5io
from fooled.core.stage import Job, notice
from fooled.data import imagenet, patch_index, patch_search, patches, sources
from fooled.data.mnist import download_mnist as fetch_mnist
from fooled.data.mnist import resolve_mirrors


def download_mnist(job: Job, logger: logging.Logger) -> None:
    """MNIST into one verified HDF5 file (layout in docs/artifacts.md).

    The mirrors, retries, checksums and IDX parsing live in :mod:`fooled.data.mnist`;
    a failure is one line listing every source tried.
    """
    settings = dict(job.params.settings)
    mirrors = resolve_mirrors(list(settings["mirrors"]), os.environ)
    logger.info("sources to try: %s", mirrors)
    arrays, source, digests = fetch_mnist(
        mirrors,
        retries=int(settings["retries"]),
        backoff_seconds=float(settings["backoff_seconds"]),
        timeout_seconds=float(settings["timeout_seconds"]),
        progress=sys.stderr.isatty(),
    )
    h5io.write_artifact(
        job.output.mnist,
        arrays,
        h5io.provenance(settings, seeds={}),
        {"source": source, "sha256_raw": digests},
    )
    logger.info("wrote %s from %s", job.output.mnist, source)


def imagenet_manifest(job: Job, logger: logging.Logger) -> None:
    settings = dict(job.params.settings)
    manifest = imagenet.build_manifest(settings, logger)
    imagenet.write_manifest(job.output.manifest, manifest, settings)
    logger.info("manifest: %d images from %s", len(manifest.files), manifest.root)


def ingest_imagenet(job: Job, logger: logging.Logger) -> None:
    settings = dict(job.params.settings)
    manifest = imagenet.read_manifest(job.input.manifest)
    record = imagenet.write_shard(
        job.output.shard, manifest, int(job.wildcards.shard), settings, logger
    )
    described = record.describe()
    if described:  # one line in Snakemake's output for each shard that skipped or converted
        notice(logger, f"ingest shard {job.wildcards.shard}: {described}")


def extract_patches(job: Job, logger: logging.Logger) -> None:
    settings = dict(job.params.settings)
    grid = settings["patches"]
    shard_paths = [str(path) for path in job.input.shards]
    patch_map = patches.build_patch_map(
        shard_paths,
        settings["image_size"],
        grid["size"],
        grid["stride"],
        grid["heldout_images"],
        grid["heldout_seed"],
    )
    inputs = {f"shard/{i}": path for i, path in enumerate(shard_paths)}
    attrs = h5io.provenance(settings, inputs, {"heldout": grid["heldout_seed"]})
    patches.write_patch_map(job.output.patch_map, patch_map, attrs)
    logger.info(
        "%d patches from %d database images (%d per image), %d held-out images",
        patch_map.n_patches,
        patch_map.db_images.size,
        patch_map.cells_per_image,
        patch_map.heldout_images.size,
    )


def build_index(job: Job, logger: logging.Logger) -> None:
    settings = dict(job.params.settings)
    index_settings, patch_map, store = patch_index.open_database(
        settings, job.input.patch_map, job.input.shards, job.threads
    )
    result = patch_index.build_index(store, patch_map, index_settings, logger)
    patch_index.save_index(result.index, job.output.index)
    record = {
        "factory": result.factory,
        "dimension": result.dimension,
        "n_patches": result.n_patches,
        "n_images": int(patch_map.db_images.size),
        "n_train": result.n_train,
        "on_gpu": result.on_gpu,
        "train_seconds": result.train_seconds,
        "add_seconds": result.add_seconds,
        "extract_seconds": result.extract_seconds,
        "build_seconds": result.build_seconds,
        "peak_rss_mb": result.peak_rss_mb,
        "index_bytes": os.path.getsize(job.output.index),
    }
    h5io.write_artifact(
        job.output.record,
        {},
        h5io.provenance(
            settings,
            {"patch_map": job.input.patch_map},
            {"train": index_settings["train_seed"]},
        ),
        record,
    )
    logger.info("%s", json.dumps(record))


def evaluate_index(job: Job, logger: logging.Logger) -> None:
    """Recall@1 against exact search and the time per seed image, in the configured mode.

    Queries are patches of the held-out images (never in the database), cut on the
    authors' seed grid; the summary is the report's ``index`` section, with the shards'
    skipped and converted files added up under ``ingest``.
    """
    settings = dict(job.params.settings)
    index_settings, patch_map, store = patch_index.open_database(
        settings, job.input.patch_map, job.input.shards, job.threads
    )
    search = patch_search.open_search(
        index_settings, patch_map, store, job.input.get("index"), job.input.get("record"), logger
    )
    queries = sources.heldout_queries(store, patch_map, settings["query"], settings["benchmark"])
    logger.info("%d held-out query patches", len(queries))
    found = search.search(queries)
    truth = search.exact(queries)
    per_seed = settings["query"]["grid"] ** 2
    summary = {
        "n_images": int(patch_map.db_images.size),
        "n_patches": int(patch_map.n_patches),
        **patch_search.index_summary(search, found, truth, queries_per_seed=per_seed),
        "qps_exact": len(queries) / truth.seconds,
        "search_seconds": found.search_seconds,
        "rerank_seconds": found.rerank_seconds,
        "exact_seconds": truth.seconds,
        "ingest": imagenet.ingest_summary(job.input.shards),
    }
    inputs = {"patch_map": job.input.patch_map}
    if search.mode == "approximate":
        record = h5io.read_attrs(job.input.record)
        inputs["index"] = job.input.index
        summary |= {
            "recall_at_1_no_rerank_top1": patch_index.recall_without_rerank(
                found, queries, store, patch_map, truth
            ),
            "build_seconds": float(record["build_seconds"]),
            "peak_rss_mb": float(record["peak_rss_mb"]),
            "on_gpu": bool(record["on_gpu"]),
        }
    logger.info("%s", json.dumps(summary))
    h5io.write_artifact(
        job.output.evaluation,
        {
            "queries": queries,
            "found_ids": found.ids,
            "found_sq_distances": found.sq_distances,
            "exact_ids": truth.ids,
            "exact_sq_distances": truth.sq_distances,
        },
        h5io.provenance(settings, inputs, {"benchmark": settings["benchmark"]["seed"]}),
        summary,
    )
    h5io.write_text_atomic(job.output.summary, json.dumps(summary, indent=2) + "\n")


def query_sources(job: Job, logger: logging.Logger) -> None:
    settings = dict(job.params.settings)
    query, size = dict(settings["query"]), settings["patches"]["size"]
    index_settings, patch_map, store = patch_index.open_database(
        settings, job.input.patch_map, job.input.shards, job.threads, preload=False
    )
    search = patch_search.open_search(
        index_settings, patch_map, store, job.input.get("index"), job.input.get("record"), logger
    )
    manifest = imagenet.read_manifest(job.input.manifest)
    seed = imagenet.resolve_seed(dict(job.params.seed), manifest)

    seed_image = imagenet.load_rgb(seed.path, query["seed_size"])
    exclude = None
    if query["exclude_seed_image"] and seed.manifest_index is not None:
        where = np.flatnonzero(store.manifest_index == seed.manifest_index)
        first = patch_map.first_id(int(where[0])) if where.size else None
        if first is not None:
            exclude = (first, first + patch_map.cells_per_image)
            logger.info("seed is database image %d: its patches are excluded", int(where[0]))
    qy, qx = sources.query_positions(query["grid"], query["step"])
    queries = sources.query_patches(seed_image, query["grid"], query["step"], size)
    found = search.search(queries, exclude_ids=exclude)
    if (found.ids < 0).any():
        raise RuntimeError(f"{int((found.ids < 0).sum())} query patches found no neighbour")
    logger.info(
        "%d queries: search %.3f s, exact re-ranking %.3f s",
        len(queries),
        found.search_seconds,
        found.rerank_seconds,
    )
    image_ids = patch_map.image[found.ids]
    images = store.images(image_ids)
    source_images, weights, coverage = sources.build_sources(
        images,
        patch_map.y[found.ids],
        patch_map.x[found.ids],
        qy,
        qx,
        query["seed_size"],
        size,
        query["window"],
    )
    labels = store.labels[image_ids]
    files = [store.files[i] for i in image_ids]
    with h5io.atomic_h5(job.output.sources) as out:
        chunked = {"compression": "gzip", "compression_opts": 4}
        out.create_dataset("seed_image", data=seed_image)
        out.create_dataset(
            "sources", data=source_images, chunks=(1, *source_images.shape[1:]), **chunked
        )
        out.create_dataset("weights", data=weights, chunks=(1, *weights.shape[1:]), **chunked)
        h5io.write_datasets(
            out,
            {
                "coverage": coverage,
                "query_positions": np.stack([qy, qx], axis=1),
                "neighbour_ids": found.ids,
                "distances": np.sqrt(found.sq_distances).astype(np.float32),
                "sq_distances": found.sq_distances,
                "candidates": found.candidates,
                "candidate_sq_distances_approx": found.approx_sq_distances,
                "neighbour_positions": np.stack(
                    [image_ids, patch_map.y[found.ids], patch_map.x[found.ids]], axis=1
                ),
                "neighbour_labels": labels,
                "neighbour_files": np.asarray([f.encode() for f in files]),
            },
        )
        h5io.set_attrs(
            out,
            h5io.provenance(
                {"query": query, "index": index_settings, "seed": dict(job.params.seed)},
                {"patch_map": job.input.patch_map}
                | ({"index": job.input.index} if search.mode == "approximate" else {}),
            ),
        )
        h5io.set_attrs(
            out,
            {
                "seed": seed.name,
                "seed_file": str(seed.path),
                "seed_in_database": exclude is not None,
                "n_sources": len(queries),
                "search_seconds": found.search_seconds,
                "rerank_seconds": found.rerank_seconds,
                "mean_distance": float(np.sqrt(found.sq_distances).mean()),
            },
        )

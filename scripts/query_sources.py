"""Snakemake script for rule ``query_sources``: one seed image's 625 source images and weights."""

import numpy as np

from fooled.core import h5io
from fooled.core.stage import run_stage
from fooled.data import imagenet, patch_index, sources

smk = globals()["snakemake"]  # injected by Snakemake's script directive


def main(logger) -> None:
    settings = dict(smk.params.settings)
    query, size = dict(settings["query"]), settings["patches"]["size"]
    index_settings, patch_map, store = patch_index.open_database(
        settings, smk.input.patch_map, smk.input.shards, smk.threads, preload=False
    )
    index, _ = patch_index.open_saved_index(
        smk.input.index, smk.input.record, index_settings, patch_map
    )
    manifest = imagenet.read_manifest(smk.input.manifest)
    seed = imagenet.resolve_seed(dict(smk.params.seed), manifest)

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
    found = patch_index.search_reranked(
        index, queries, store, patch_map, index_settings["rerank_k"], exclude_ids=exclude
    )
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
    with h5io.atomic_h5(smk.output[0]) as out:
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
                {"query": query, "index": index_settings, "seed": dict(smk.params.seed)},
                {"index": smk.input.index, "patch_map": smk.input.patch_map},
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


run_stage("query_sources", smk.log[0], main)

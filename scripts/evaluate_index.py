"""Snakemake script for rule ``evaluate_index``: recall@1 and queries/s against exact search.

Queries are patches of the held-out images (never in the database), cut on the
authors' seed grid; summary.json is the report's ``index`` section.
"""

import json

from fooled.core import h5io
from fooled.core.stage import run_stage
from fooled.data import patch_index, sources

smk = globals()["snakemake"]  # injected by Snakemake's script directive


def main(logger) -> None:
    settings = dict(smk.params.settings)
    index_settings, patch_map, store = patch_index.open_database(
        settings, smk.input.patch_map, smk.input.shards, smk.threads
    )
    index, record = patch_index.open_saved_index(
        smk.input.index, smk.input.record, index_settings, patch_map
    )
    queries = sources.heldout_queries(store, patch_map, settings["query"], settings["benchmark"])
    logger.info("%d held-out query patches", len(queries))
    found = patch_index.search_reranked(
        index, queries, store, patch_map, index_settings["rerank_k"]
    )
    exact = patch_index.exact_search(queries, store, patch_map)
    recall = patch_index.recall_at_1(found.sq_distances, exact.sq_distances)
    index_seconds = found.search_seconds + found.rerank_seconds
    summary = {
        "n_images": int(patch_map.db_images.size),
        "n_patches": int(patch_map.n_patches),
        "factory": index_settings["factory"],
        "search_params": index_settings["search_params"],
        "rerank_k": index_settings["rerank_k"],
        "n_queries": int(len(queries)),
        "recall_at_1": recall,
        "recall_at_1_no_rerank_top1": patch_index.recall_without_rerank(
            found, queries, store, patch_map, exact
        ),
        "qps": len(queries) / index_seconds,
        "qps_exact": len(queries) / exact.seconds,
        "search_seconds": found.search_seconds,
        "rerank_seconds": found.rerank_seconds,
        "exact_seconds": exact.seconds,
        "build_seconds": float(record["build_seconds"]),
        "peak_rss_mb": float(record["peak_rss_mb"]),
        "on_gpu": bool(record["on_gpu"]),
    }
    logger.info("%s", json.dumps(summary))
    h5io.write_artifact(
        smk.output.evaluation,
        {
            "queries": queries,
            "found_ids": found.ids,
            "found_sq_distances": found.sq_distances,
            "exact_ids": exact.ids,
            "exact_sq_distances": exact.sq_distances,
        },
        h5io.provenance(
            settings,
            {"index": smk.input.index, "patch_map": smk.input.patch_map},
            {"benchmark": settings["benchmark"]["seed"]},
        ),
        summary,
    )
    h5io.write_text_atomic(smk.output.summary, json.dumps(summary, indent=2) + "\n")


run_stage("evaluate_index", smk.log[0], main)

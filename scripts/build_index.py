"""Snakemake script for rule ``build_index``: the FAISS index, trained, filled and saved."""

import json
import os

from fooled.core import h5io
from fooled.core.stage import run_stage
from fooled.data import patch_index

smk = globals()["snakemake"]  # injected by Snakemake's script directive


def main(logger) -> None:
    settings = dict(smk.params.settings)
    index_settings, patch_map, store = patch_index.open_database(
        settings, smk.input.patch_map, smk.input.shards, smk.threads
    )
    result = patch_index.build_index(store, patch_map, index_settings, logger)
    patch_index.save_index(result.index, smk.output.index)
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
        "index_bytes": os.path.getsize(smk.output.index),
    }
    h5io.write_artifact(
        smk.output.record,
        {},
        h5io.provenance(
            settings,
            {"patch_map": smk.input.patch_map},
            {"train": index_settings["train_seed"]},
        ),
        record,
    )
    logger.info("%s", json.dumps(record))


run_stage("build_index", smk.log[0], main)

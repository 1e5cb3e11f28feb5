"""Snakemake script for rule ``imagenet_manifest``: the seeded per-class sample and its shards."""

from fooled.core.stage import run_stage
from fooled.data import imagenet

smk = globals()["snakemake"]  # injected by Snakemake's script directive


def main(logger) -> None:
    settings = dict(smk.params.settings)
    manifest = imagenet.build_manifest(settings, logger)
    imagenet.write_manifest(smk.output[0], manifest, settings)
    logger.info("manifest: %d images from %s", len(manifest.files), manifest.root)


run_stage("imagenet_manifest", smk.log[0], main)

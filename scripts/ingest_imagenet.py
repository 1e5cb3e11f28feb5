"""Snakemake script for rule ``ingest_imagenet``: one shard of 256x256 uint8 images."""

from fooled.core.stage import run_stage
from fooled.data import imagenet

smk = globals()["snakemake"]  # injected by Snakemake's script directive


def main(logger) -> None:
    settings = dict(smk.params.settings)
    manifest = imagenet.read_manifest(smk.input.manifest)
    imagenet.write_shard(smk.output[0], manifest, int(smk.wildcards.shard), settings, logger)


run_stage("ingest_imagenet", smk.log[0], main)

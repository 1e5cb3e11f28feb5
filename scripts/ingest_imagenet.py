"""Snakemake script for rule ``ingest_imagenet``: one shard of 256x256 uint8 images."""

from feature_collisions import imagenet
from feature_collisions.stage import run_stage

smk = globals()["snakemake"]  # injected by Snakemake's script directive


def main(logger) -> None:
    settings = dict(smk.params.settings)
    manifest = imagenet.read_manifest(smk.input.manifest)
    imagenet.write_shard(smk.output[0], manifest, int(smk.wildcards.shard), settings, logger)


run_stage("ingest_imagenet", smk.log[0], main)

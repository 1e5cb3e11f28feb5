"""Snakemake script for rule ``download_vgg16``: Keras' VGG-16 ImageNet weights, MD5 checked."""

from fooled.core.stage import run_stage
from fooled.models import vgg16

smk = globals()["snakemake"]  # injected by Snakemake's script directive


def main(logger) -> None:
    settings = dict(smk.params.settings)
    logger.info("downloading %s", settings["url"])
    record = vgg16.download_weights(
        settings["url"], smk.output.weights, settings["md5"], retries=settings["retries"]
    )
    vgg16.write_weights_record(smk.output.record, record)
    logger.info("MD5 %s verified; SHA-256 %s", record["md5"], record["sha256"])


run_stage("download_vgg16", smk.log[0], main)

"""Rule `ingest_imagenet`: the stage function `ingest_imagenet` of `fooled.data.stages`."""

from fooled.core.stage import run_script
from fooled.data.stages import ingest_imagenet

run_script(globals()["snakemake"], ingest_imagenet)

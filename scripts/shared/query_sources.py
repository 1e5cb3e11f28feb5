"""Rule `query_sources`: the stage function `query_sources` of `fooled.data.stages`."""

from fooled.core.stage import run_script
from fooled.data.stages import query_sources

run_script(globals()["snakemake"], query_sources)

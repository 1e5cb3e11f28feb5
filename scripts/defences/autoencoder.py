"""Rule `defences_autoencoder`: runs the stage function
`fooled.studies.defences.stages.autoencoder`.
"""

from fooled.core.stage import run_script
from fooled.studies.defences.stages import autoencoder

run_script(globals()["snakemake"], autoencoder)

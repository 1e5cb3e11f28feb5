"""Snakemake script for rule ``extract_patches``: vector id -> (image, y, x) and the held-out split.

The patches themselves are never written: they are cut from the image shards
on demand (docs/artifacts.md).
"""

from fooled.core import h5io
from fooled.core.stage import run_stage
from fooled.data import patches

smk = globals()["snakemake"]  # injected by Snakemake's script directive


def main(logger) -> None:
    settings = dict(smk.params.settings)
    grid = settings["patches"]
    shard_paths = [str(path) for path in smk.input.shards]
    patch_map = patches.build_patch_map(
        shard_paths,
        settings["image_size"],
        grid["size"],
        grid["stride"],
        grid["heldout_images"],
        grid["heldout_seed"],
    )
    inputs = {f"shard/{i}": path for i, path in enumerate(shard_paths)}
    attrs = h5io.provenance(settings, inputs, {"heldout": grid["heldout_seed"]})
    patches.write_patch_map(smk.output[0], patch_map, attrs)
    logger.info(
        "%d patches from %d database images (%d per image), %d held-out images",
        patch_map.n_patches,
        patch_map.db_images.size,
        patch_map.cells_per_image,
        patch_map.heldout_images.size,
    )


run_stage("extract_patches", smk.log[0], main)

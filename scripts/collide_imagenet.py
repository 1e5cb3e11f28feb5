"""Snakemake script for rule ``collide_imagenet``: one ImageNet micro or macro experiment.

Micro (Table 2): pixel-space corners from the seed image, pixels kept in 0-255.
Macro (Tables 3, 4): the control logits of the composite of the seed's source images
(rule query_sources), checkpointed every ``checkpoint_every`` steps and resumed after a kill.
Images are 0-255 RGB float32 at the model's input size.
"""

import keras
import numpy as np

from fooled.attacks import collision_losses, composites
from fooled.attacks import corners as collisions
from fooled.core import h5io
from fooled.core.stage import run_stage
from fooled.data import imagenet
from fooled.models import mlp, vgg16

smk = globals()["snakemake"]  # injected by Snakemake's script directive


def load_model(model_settings):
    weights_path = getattr(smk.input, "weights", None)
    weights = model_settings["weights"]
    model = vgg16.build_model(
        model_settings["architecture"],
        "imagenet" if weights == "imagenet" else weights,
        weights_path=weights_path,
        model_file=model_settings.get("file"),
        input_size=model_settings["input_size"],
        seed=model_settings["seed"],
    )
    label = vgg16.weights_label(weights, model_settings.get("file"))
    return vgg16.PreactivationHandle(
        model, model_settings["layer"], model_settings["preprocess"]
    ), label


def main(logger) -> None:
    mlp.limit_threads(smk.threads)
    experiment = dict(smk.params.experiment)
    model_settings = dict(smk.params.model)
    settings = dict(experiment["settings"])
    name, mode = experiment["name"], experiment["mode"]
    size = model_settings["input_size"]
    manifest = imagenet.read_manifest(smk.input.manifest)
    target = imagenet.resolve_seed({"name": "target", **experiment["target"]}, manifest)
    target_image = imagenet.load_rgb(target.path, size).astype(np.float32)
    # Not mlp.make_deterministic: TensorFlow's op determinism refuses XLA's MaxPool
    # gradient (VGG-16). XLA on the CPU is deterministic run to run regardless.
    keras.utils.set_random_seed(0)
    handle, weights_label = load_model(model_settings)
    preact_target = handle.preact_numpy(target_image[None])[0]
    target_probabilities = handle.probabilities_numpy(target_image[None])[0]
    units = collision_losses.negative_units(preact_target, settings["n_corners"])
    inputs = {"manifest": smk.input.manifest}
    if mode == "macro":
        inputs["sources"] = smk.input.sources
    provenance = h5io.provenance(
        {"experiment": experiment, "model": model_settings}, inputs, {"collide": 0}
    )
    extra, attrs = {}, {}
    if mode == "micro":
        seed = imagenet.resolve_seed({"name": "seed", **experiment["seed"]}, manifest)
        seed_image = imagenet.load_rgb(seed.path, size).astype(np.float32)
        result = collisions.MicroCollisionFinder(handle.flat_preact, 0.0, 255.0).find(
            seed_image.reshape(-1),
            preact_target,
            units,
            collisions.CornerSettings.from_config(settings),
        )
        corners = result.corners.reshape(-1, size, size, 3)
        seed_file = str(seed.path)
        attrs |= {"optimizer": settings["optimizer"], "learning_rate": settings["learning_rate"]}
    else:
        found = h5io.read_arrays(smk.input.sources, ["sources", "weights", "seed_image"])
        found_attrs = h5io.read_attrs(smk.input.sources)
        if found["sources"].shape[1] != size:
            raise ValueError(
                f"{smk.input.sources}: sources are {found['sources'].shape[1]} pixels, the model "
                f"takes {size}"
            )
        seed_image = found["seed_image"].astype(np.float32)
        source_pixels = found["sources"].astype(np.float32)
        macro_settings = composites.MacroSettings.from_config(settings)
        finder = composites.MacroCollisionFinder(
            handle.preact, source_pixels, chunk_steps=macro_settings.chunk_steps
        )
        result = finder.find_resumable(
            found["weights"],
            preact_target,
            units,
            macro_settings,
            provenance,
            smk.params.checkpoint,
            logger,
        )
        corners = result.corners
        seed_file = str(found_attrs.get("seed_file", ""))
        extra = composites.result_datasets(
            result, found["weights"], found["sources"], source_pixels
        )
        attrs |= composites.schedule_attrs(macro_settings) | {
            "w_tv": settings["w_tv"],
            "n_sources": len(source_pixels),
            "resumed_from": result.resumed_from,
            "seed_name": experiment["seed"],
        }
    logger.info(
        "%s (%s, weights %s): %d steps in %.2f s (compile %.2f s); final L_pos %s",
        name,
        mode,
        weights_label,
        result.steps_run,
        result.seconds,
        result.trace_seconds,
        np.round(result.loss_pos[-1], 2).tolist(),
    )
    preact_corners = handle.preact_numpy(corners)
    probabilities = handle.probabilities_numpy(corners)
    h5io.write_artifact(
        smk.output[0],
        collisions.corner_datasets(
            seed_image,
            target_image,
            corners,
            units,
            result,
            preact_target,
            preact_corners,
            probabilities,
        )
        | extra,
        provenance,
        attrs
        | {
            "experiment": name,
            "mode": mode,
            "dataset": "imagenet",
            "model": model_settings["architecture"],
            "weights": weights_label,
            "table": experiment.get("table", ""),
            "seed_file": seed_file,
            "target_file": str(target.path),
            "seed_class": int(np.argmax(handle.probabilities_numpy(seed_image[None])[0])),
            "seed_index": -1,
            "target_class": int(target_probabilities.argmax()),
            "target_index": int(target.manifest_index if target.manifest_index is not None else -1),
            "target_predicted_class": int(target_probabilities.argmax()),
            "target_probability": float(target_probabilities.max()),
            "layer": model_settings["layer"],
            "steps_run": result.steps_run,
            "seconds": result.seconds,
            "trace_seconds": result.trace_seconds,
            "w_pos": settings["w_pos"],
            "w_neg": settings["w_neg"],
            "threshold": settings["threshold"],
            "max_steps": settings["max_steps"],
            "n_corners": settings["n_corners"],
        },
    )
    composites.remove_checkpoint(smk.params.checkpoint)


run_stage("collide_imagenet", smk.log[0], main)

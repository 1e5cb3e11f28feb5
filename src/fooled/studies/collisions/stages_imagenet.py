"""Stage functions of the collisions_imagenet study (rules: studies/collisions_imagenet.smk).

Micro (Table 2): pixel-space corners from the seed image, pixels kept in 0-255.
Macro (Tables 3, 4): the control logits of the composite of the seed's source
images (rule query_sources), checkpointed and resumed after a kill. Images
are 0-255 RGB float32 at the model's input size. The interpolations are a
job of their own here: 2,000 VGG-16 forward passes are minutes, and a killed
interpolation must not cost the hours of a macro optimisation.
"""

from __future__ import annotations

import logging

import keras
import numpy as np

from fooled.attacks import composites
from fooled.attacks.corners import CornerSettings, GradientCorners, corner_datasets
from fooled.core import h5io
from fooled.core.checkpoints import CheckpointFile
from fooled.core.progress import Progress
from fooled.core.stage import Job
from fooled.data import imagenet, patches, sources
from fooled.models import runtime, vgg16
from fooled.studies.collisions import interpolation


def _classifier(job: Job, layer: str):
    runtime.limit_threads(job.threads)
    # Not runtime.make_deterministic: TensorFlow's op determinism refuses XLA's MaxPool
    # gradient (VGG-16). XLA on the CPU is deterministic run to run regardless.
    keras.utils.set_random_seed(0)
    return vgg16.imagenet_classifier(dict(job.params.model), job.input.get("weights"), layer)


def collide_imagenet(job: Job, logger: logging.Logger) -> None:
    """One ImageNet micro or macro experiment's corners."""
    experiment = dict(job.params.experiment)
    model_settings = dict(job.params.model)
    name, mode = experiment["name"], experiment["mode"]
    size = model_settings["input_size"]
    manifest = imagenet.read_manifest(job.input.manifest)
    target = imagenet.resolve_seed({"name": "target", **experiment["target"]}, manifest)
    target_image = imagenet.load_rgb(target.path, size).astype(np.float32)
    model, weights_label = _classifier(job, experiment["layer"])
    inputs = {"manifest": job.input.manifest}
    if mode == "macro":
        inputs["sources"] = job.input.sources
    record = {"experiment": experiment, "model": model_settings}
    provenance = h5io.provenance(record, inputs, {"collide": 0})
    checkpoint = CheckpointFile.for_job(
        job.params.checkpoint, record, inputs, {"collide": 0}, logger
    )
    extra, attrs = {}, {}
    if mode == "micro":
        seed = imagenet.resolve_seed({"name": "seed", **experiment["seed"]}, manifest)
        seed_image = imagenet.load_rgb(seed.path, size).astype(np.float32)
        attack = GradientCorners(CornerSettings.from_config(experiment), 0.0, 255.0)
        collision = attack.run(model, seed_image, target_image)
        seed_file = str(seed.path)
        attrs |= {
            "optimizer": experiment["optimizer"],
            "learning_rate": experiment["learning_rate"],
        }
    else:
        found = h5io.read_arrays(job.input.sources, ["sources", "weights", "seed_image"])
        found_attrs = h5io.read_attrs(job.input.sources)
        if found["sources"].shape[1] != size:
            raise ValueError(
                f"{job.input.sources}: sources are {found['sources'].shape[1]} pixels, the "
                f"model takes {size}"
            )
        seed_image = found["seed_image"].astype(np.float32)
        source_pixels = found["sources"].astype(np.float32)
        settings = composites.MacroSettings.from_config(experiment)
        with Progress(settings.max_steps, "macro corners", logger=logger) as progress:
            collision = checkpoint.run(
                composites.MacroComposites(settings),
                model,
                composites.Sources(source_pixels, found["weights"]),
                target_image,
                progress,
            )
        seed_file = str(found_attrs.get("seed_file", ""))
        extra = composites.result_datasets(
            collision.trace, found["weights"], found["sources"], source_pixels
        )
        attrs |= composites.schedule_attrs(settings) | {
            "w_tv": experiment["w_tv"],
            "n_sources": len(source_pixels),
            "resumed_from": collision.trace.resumed_from,
            "seed_name": experiment["seed"],
        }
    trace = collision.trace
    logger.info(
        "%s (%s, weights %s): %d steps in %.2f s (compile %.2f s); final L_pos %s",
        name,
        mode,
        weights_label,
        trace.steps_run,
        trace.seconds,
        trace.trace_seconds,
        np.round(trace.loss_pos[-1], 2).tolist(),
    )
    target_probabilities = collision.target.probabilities
    h5io.write_artifact(
        job.output.collide,
        corner_datasets(seed_image, target_image, collision) | extra,
        provenance,
        attrs
        | {
            "experiment": name,
            "mode": mode,
            "dataset": "imagenet",
            "model": model_settings["architecture"],
            "weights": weights_label,
            "table": str(experiment.get("table", "")),
            "seed_file": seed_file,
            "target_file": str(target.path),
            "seed_class": int(np.argmax(model.probabilities_numpy(seed_image[None])[0])),
            "seed_index": -1,
            "target_class": int(target_probabilities.argmax()),
            "target_index": int(target.manifest_index if target.manifest_index is not None else -1),
            "target_predicted_class": int(target_probabilities.argmax()),
            "target_probability": float(target_probabilities.max()),
            "layer": experiment["layer"],
            "steps_run": trace.steps_run,
            "seconds": trace.seconds,
            "trace_seconds": trace.trace_seconds,
            "w_pos": experiment["w_pos"],
            "w_neg": experiment["w_neg"],
            "threshold": experiment["threshold"],
            "max_steps": experiment["max_steps"],
            "n_corners": experiment["n_corners"],
        },
    )
    checkpoint.remove()


def interpolate_imagenet(job: Job, logger: logging.Logger) -> None:
    """The paper's check on an ImageNet experiment's corners."""
    settings = dict(job.params.settings)
    model_settings = dict(job.params.model)
    collide = h5io.read_arrays(job.input.collide, ["corners"])
    collide_attrs = h5io.read_attrs(job.input.collide)
    model, _ = _classifier(job, None)
    store = patches.ImageStore([str(p) for p in job.input.shards], preload=False)
    size = model_settings["input_size"]

    def dataset_images(rng: np.random.Generator) -> np.ndarray:
        count = min(settings["n_dataset_images"], store.n_images)
        chosen = np.sort(rng.choice(store.n_images, size=count, replace=False))
        images = [sources.resize_image(image, size) for image in store.images(chosen)]
        return np.stack(images).astype(np.float32)

    provenance = h5io.provenance(
        {"interpolate": settings, "model": model_settings},
        {"collide": job.input.collide},
        {"interpolate": settings["seed"]},
    )
    interpolation.write(
        job, settings, collide["corners"], collide_attrs, model, dataset_images, provenance, logger
    )

"""Stage functions of the shared model rules: the project's MLP and VGG-16's weights."""

from __future__ import annotations

import logging

from fooled.core import h5io
from fooled.core.stage import Job
from fooled.data.mnist import read_mnist
from fooled.models import lenet, mlp, runtime, vgg16
from fooled.models.training import MlpTraining, MnistTraining, TrainingResult


def save_trained(
    job: Job,
    trained: TrainingResult,
    settings: dict,
    logger: logging.Logger,
    extra: dict | None = None,
) -> None:
    """A trained MNIST network: the Keras file, and its history and test predictions."""
    logger.info("test accuracy %.4f after %.1f s", trained.test_accuracy, trained.seconds)
    with h5io.atomic_path(job.output.model) as temporary:
        trained.model.save(temporary)
    h5io.write_artifact(
        job.output.metrics,
        {f"history/{key}": values for key, values in trained.history.items()}
        | {
            "test/predicted": trained.test_predicted,
            "test/top_probability": trained.test_top_probability,
        },
        h5io.provenance(settings, {"mnist": job.input.mnist}, {"train": settings["seed"]}),
        {
            "model_name": trained.model.name,
            "test_accuracy": trained.test_accuracy,
            "test_loss": trained.test_loss,
            "train_seconds": trained.seconds,
            "epochs": settings["epochs"],
            "seed": settings["seed"],
        }
        | (extra or {}),
    )


def train_mlp(job: Job, logger: logging.Logger) -> None:
    """The paper's MNIST MLP, trained reproducibly; its test predictions beside it."""
    settings = dict(job.params.settings)
    runtime.limit_threads(settings["threads"])
    mnist = read_mnist(job.input.mnist)
    trained = mlp.train_mnist_mlp(MlpTraining.from_config(settings), mnist, logger)
    save_trained(job, trained, settings, logger)


def download_vgg16(job: Job, logger: logging.Logger) -> None:
    """Keras' VGG-16 weights, MD5 verified, with a record of their SHA-256 beside them."""
    settings = dict(job.params.settings)
    logger.info("downloading %s", settings["url"])
    record = vgg16.download_weights(
        settings["url"], job.output.weights, settings["md5"], retries=settings["retries"]
    )
    vgg16.write_weights_record(job.output.record, record)
    logger.info("MD5 %s verified; SHA-256 %s", record["md5"], record["sha256"])


def train_lenet(job: Job, logger: logging.Logger) -> None:
    """LeNet on MNIST, seeded and deterministic (``models.lenet``; its own thread count)."""
    settings = dict(job.params.settings)
    runtime.limit_threads(settings["threads"])
    mnist = read_mnist(job.input.mnist)
    trained = lenet.train_mnist_lenet(MnistTraining.from_config(settings), mnist)
    training_images = settings["max_train_samples"] or len(mnist["train/labels"])
    save_trained(job, trained, settings, logger, {"train_samples": training_images})

"""Snakemake script for rule ``train_model``: the paper's MNIST MLP, trained reproducibly."""

from fooled.core import h5io
from fooled.core.stage import run_stage
from fooled.models import mlp

smk = globals()["snakemake"]  # injected by Snakemake's script directive


def main(logger) -> None:
    mlp.limit_threads(smk.threads)
    settings = dict(smk.params.settings)
    mnist = h5io.read_arrays(
        smk.input.mnist, ["train/images", "train/labels", "test/images", "test/labels"]
    )
    trained = mlp.train_mnist_mlp(
        mnist["train/images"],
        mnist["train/labels"],
        mnist["test/images"],
        mnist["test/labels"],
        seed=settings["seed"],
        epochs=settings["epochs"],
        batch_size=settings["batch_size"],
        learning_rate=settings["learning_rate"],
        hidden_units=tuple(settings["hidden_units"]),
        max_train_samples=settings.get("max_train_samples"),
    )
    logger.info("test accuracy %.4f after %.1f s", trained.test_accuracy, trained.seconds)
    with h5io.atomic_path(smk.output.model) as temporary:
        trained.model.save(temporary)
    h5io.write_artifact(
        smk.output.metrics,
        {f"history/{key}": values for key, values in trained.history.items()}
        | {
            "test/predicted": trained.test_predicted,
            "test/top_probability": trained.test_top_probability,
        },
        h5io.provenance(settings, {"mnist": smk.input.mnist}, {"train": settings["seed"]}),
        {
            "model_name": trained.model.name,
            "test_accuracy": trained.test_accuracy,
            "test_loss": trained.test_loss,
            "train_seconds": trained.seconds,
            "epochs": settings["epochs"],
            "seed": settings["seed"],
        },
    )


run_stage("train_model", smk.log[0], main)

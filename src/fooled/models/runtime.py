"""How a stage runs TensorFlow: its threads, its seeds, and model files loaded with clear errors."""

from __future__ import annotations

import logging
import os
import zipfile
from pathlib import Path

import keras
import tensorflow as tf

from fooled.core.progress import Progress


def limit_threads(threads: int) -> None:
    """Keep TensorFlow to the cores Snakemake gave the job (parallel jobs would oversubscribe).

    Thread pools are fixed once TensorFlow has started; a later call in the same process
    (a test, a notebook) keeps them as they are.
    """
    try:
        tf.config.threading.set_intra_op_parallelism_threads(max(1, int(threads)))
        tf.config.threading.set_inter_op_parallelism_threads(max(1, int(threads)))
    except RuntimeError:
        pass


def make_deterministic(seed: int) -> None:
    """Same seed, same bytes: seeds every RNG and enables TF's deterministic kernels."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def check_model_file(path: str | os.PathLike[str]) -> None:
    """One line naming the file, the cause and the remedy, before Keras gives a misleading one.

    Keras reports a truncated ``.keras`` archive as "File not found"; a
    ``.keras`` file is a zip archive, so its directory and checksums tell.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: model file missing (rerun the rule that trains or fetches it)")
    if path.suffix == ".keras":
        try:
            with zipfile.ZipFile(path) as archive:
                damaged = archive.testzip()
        except (zipfile.BadZipFile, OSError) as error:
            raise ValueError(
                f"{path}: not a readable Keras model file (truncated or corrupt: {error}); "
                "delete it and rerun the workflow to rebuild it"
            ) from error
        if damaged is not None:
            raise ValueError(
                f"{path}: Keras model file is damaged (bad CRC in {damaged}); "
                "delete it and rerun the workflow to rebuild it"
            )


def load_model(path: str | os.PathLike[str]) -> keras.Model:
    """Load a Keras model file, with one line naming the file when it cannot be read."""
    check_model_file(path)
    try:
        return keras.models.load_model(path, compile=False)
    except (OSError, ValueError) as error:
        raise ValueError(f"{path}: cannot load Keras model ({error})") from error


class TrainingProgress(keras.callbacks.Callback):
    """Keras training reported through :class:`Progress`: loss per batch, metrics per epoch."""

    def __init__(self, epochs: int, logger: logging.Logger) -> None:
        super().__init__()
        self.epochs = epochs
        self.logger = logger
        self.progress: Progress | None = None

    def on_train_begin(self, logs=None) -> None:
        steps = self.params.get("steps") or 1
        self.progress = Progress(self.epochs * steps, "training", "batch", self.logger)

    def on_train_batch_end(self, batch, logs=None) -> None:
        loss = (logs or {}).get("loss")
        self.progress.update(1, **({"loss": float(loss)} if loss is not None else {}))

    def on_epoch_end(self, epoch, logs=None) -> None:
        figures = ", ".join(f"{key} {float(value):.4f}" for key, value in (logs or {}).items())
        self.logger.info("epoch %d/%d: %s", epoch + 1, self.epochs, figures)

    def on_train_end(self, logs=None) -> None:
        if self.progress is not None:
            self.progress.close()

"""How a stage runs TensorFlow: its threads, its seeds, and model files loaded with clear errors."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import keras
import tensorflow as tf


def limit_threads(threads: int) -> None:
    """Keep TensorFlow to the cores Snakemake gave the job (parallel jobs would oversubscribe)."""
    tf.config.threading.set_intra_op_parallelism_threads(max(1, int(threads)))
    tf.config.threading.set_inter_op_parallelism_threads(max(1, int(threads)))


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

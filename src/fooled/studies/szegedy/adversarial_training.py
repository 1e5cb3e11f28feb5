"""Adversarial training (Szegedy et al., section 4.1): a pool of L-BFGS examples, refreshed.

The paper trains FC100-100-10 "with a pool of adversarial examples ...
continuously replaced by newly generated ones" and reaches below 1.2% test
error (1.6% with weight decay alone, 1.3% with dropout). Here the model is
trained exactly as its plain counterpart (same architecture, weight decay,
training set, epochs, optimiser and seed), except that every
``refresh_every`` epochs ``examples_per_refresh`` training images (a seeded
draw) are attacked with L-BFGS against the *current* model, towards seeded
random labels, and the successful examples join a first-in-first-out pool of
at most ``pool_size``, labelled with their true class; each epoch trains on
the training images plus the pool.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np

from fooled.attacks.lbfgs import LBFGSAttack, random_targets
from fooled.core.progress import Progress
from fooled.core.settings import config_fields
from fooled.models.handle import ModelHandle
from fooled.models.mnist_zoo import (
    N_CLASSES,
    TrainSettings,
    build_model,
    error_rate,
    parse_architecture,
    pixels,
    predict_classes,
    training_indices,
)
from fooled.models.runtime import make_deterministic
from fooled.models.training import Mnist

LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class PoolSettings:
    """The pool's settings (config keys of the same names; defaults in the schema)."""

    pool_size: int
    refresh_every: int
    examples_per_refresh: int

    @classmethod
    def from_config(cls, settings: Mapping[str, Any]) -> PoolSettings:
        values = {
            name: int(value)
            for name, value in config_fields(cls, settings, "adversarial training").items()
        }
        for name, value in values.items():
            if value < 1:
                raise ValueError(f"adversarial_training.{name} must be >= 1, got {value}")
        return cls(**values)


@dataclass
class AdversarialTrainingResult:
    model: keras.Model
    train_error: float
    test_error: float
    test_predicted: np.ndarray
    refresh_epoch: np.ndarray  # epoch of each refresh
    refresh_success: np.ndarray  # attack success rate of each refresh
    refresh_distortion: np.ndarray  # mean distortion of each refresh's successes
    pool_sizes: np.ndarray  # pool size after each refresh
    history_loss: np.ndarray
    seconds: float


def train_adversarially(
    settings: TrainSettings,
    pool: PoolSettings,
    attack: LBFGSAttack,
    mnist: Mnist,
    split_seed: int,
    logger: logging.Logger = LOGGER,
) -> AdversarialTrainingResult:
    """Train ``settings``' model with a refreshed pool of adversarial examples (see module),
    on the MNIST artifact's arrays."""
    if parse_architecture(settings.architecture).kind == "ae":
        raise ValueError("adversarial training of an autoencoder model (ae...) is not supported")
    make_deterministic(settings.seed)
    rng = np.random.default_rng(settings.seed)
    x_all, y_all = pixels(mnist["train/images"]), np.asarray(mnist["train/labels"], np.int64)
    chosen = training_indices(
        settings.training_set, len(x_all), split_seed, settings.max_train_samples
    )
    x_train, y_train = x_all[chosen], y_all[chosen]
    x_test, y_test = pixels(mnist["test/images"]), np.asarray(mnist["test/labels"], np.int64)
    model = build_model(settings.architecture, settings.weight_decay)
    model.compile(
        optimizer=keras.optimizers.Adam(settings.learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(),
    )
    handle = ModelHandle(model)  # its graphs read the variables, so they follow training
    pool_x = np.zeros((0, x_train.shape[1]), np.float32)
    pool_y = np.zeros(0, np.int64)
    refresh_epoch, refresh_success, refresh_distortion, pool_sizes, losses = [], [], [], [], []
    started = time.perf_counter()
    with Progress(settings.epochs, "adversarial training", "epoch", logger, 0.0) as progress:
        for epoch in range(settings.epochs):
            if epoch % pool.refresh_every == 0:
                picked = rng.choice(len(x_train), size=pool.examples_per_refresh, replace=False)
                targets = random_targets(y_train[picked], N_CLASSES, int(rng.integers(2**31)))
                result = attack.run(handle, x_train[picked], targets)
                new_x = result.adversarial[result.success]
                new_y = y_train[picked][result.success]
                pool_x = np.concatenate([pool_x, new_x])[-pool.pool_size :]
                pool_y = np.concatenate([pool_y, new_y])[-pool.pool_size :]
                refresh_epoch.append(epoch)
                refresh_success.append(result.success_rate())
                refresh_distortion.append(result.mean_distortion())
                pool_sizes.append(len(pool_y))
            fit = model.fit(
                np.concatenate([x_train, pool_x]),
                np.concatenate([y_train, pool_y]),
                batch_size=settings.batch_size,
                epochs=1,
                shuffle=True,
                verbose=0,
            )
            losses.append(float(fit.history["loss"][-1]))
            progress.update(1, loss=losses[-1], pool=len(pool_y))
    seconds = time.perf_counter() - started
    test_predicted = predict_classes(model, x_test)
    return AdversarialTrainingResult(
        model=model,
        train_error=error_rate(model, x_train, y_train),
        test_error=float((test_predicted != y_test).mean()),
        test_predicted=test_predicted,
        refresh_epoch=np.asarray(refresh_epoch, np.int64),
        refresh_success=np.asarray(refresh_success, np.float64),
        refresh_distortion=np.asarray(refresh_distortion, np.float64),
        pool_sizes=np.asarray(pool_sizes, np.int64),
        history_loss=np.asarray(losses, np.float64),
        seconds=seconds,
    )

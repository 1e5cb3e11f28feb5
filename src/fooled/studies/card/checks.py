"""The card's checks at start-up: the user's model file, before any job.

A missing file, one that is not a Keras model, an input that is not one MNIST image, an
output that is not 10 classes, a layer it lacks: one line naming the config file, the key and
the model file (:func:`fooled.models.own.check_own_model`). The check loads the model
(TensorFlow is imported only when the card is in the run and names a file).
"""

from __future__ import annotations

from fooled.core.config import LoadedConfig
from fooled.models.layout import MNIST_NETWORKS

STUDY = "card"
KEY = ("studies", STUDY, "model")


def check(loaded: LoadedConfig) -> None:
    model = loaded.section(STUDY)["model"]
    if model["name"] in MNIST_NETWORKS:
        raise loaded.error(
            [*KEY, "name"], f"'{model['name']}' is a project model's name; name yours otherwise"
        )
    if model["path"] is None:  # (the loader runs this check only for a study in the run)
        return
    from fooled.models.own import OwnModelError, check_own_model, own_path

    try:
        check_own_model(own_path(model["path"]), model["layer"])
    except OwnModelError as error:
        raise loaded.error([*KEY, error.setting], str(error)) from None

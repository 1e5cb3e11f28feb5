"""Where the card's artifacts lie, which models it measures, and what it reads elsewhere."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fooled.core.layout import Inputs, Layout, StudyLayout, artifacts

LAYOUT = Layout(
    "results/card",
    artifacts(
        measures=(
            "{model}.h5",
            "one model's card: clean accuracy, FGSM and PGD error, L-BFGS distortion, "
            "generations and steps to fool each digit, collision interpolations, detection",
        ),
    ),
    "the robustness card",
)

# The detector the card scores each model's adversarial images with (the defences study's
# autoencoder and its threshold), and Szegedy et al.'s networks with their L-BFGS examples,
# for transfer both ways (the szegedy study's; the two lists in the same order). Absent when
# those studies are off: the rows say so.
INPUTS = Inputs.of(
    autoencoder="defences.autoencoder",
    errors="defences.errors",
    szegedy_models="szegedy.model",
    szegedy_attacks="szegedy.attack",
)

STAGES = ("measure", "report")
# The measuring job's params: the card's scale, the model, each attack's study section.
MEASURE_PARAMS = (
    "settings",
    "model",
    "fgsm",
    "pgd",
    "lbfgs",
    "evolve",
    "ascend",
    "corners",
    "polytope",
)


def is_own(section: Mapping[str, Any], model: str) -> bool:
    """Whether ``model`` is the user's (named in the section, with a file)."""
    return model == section["model"]["name"] and bool(section["model"]["path"])


def models(section: Mapping[str, Any]) -> list[str]:
    """The models of the card, in its columns' order: the project's, then the user's."""
    own = [section["model"]["name"]] if section["model"]["path"] else []
    return [*section["compare_with"], *own]


def files(
    artifact: str, section: Mapping[str, Any], experiments: Mapping[str, Mapping[str, Any]]
) -> list[str]:
    return [LAYOUT.path(artifact, model=model) for model in models(section)]


STUDY = StudyLayout(LAYOUT, files, INPUTS)


def model_file(section: Mapping[str, Any], model: str, root: str | None = None) -> str:
    """The Keras file of a model of the card: the user's as given (relative to the working
    directory), the project's where the shared models layer puts them."""
    from fooled.models.layout import MODELS
    from fooled.models.own import own_path

    if is_own(section, model):
        return own_path(section["model"]["path"])
    layout = MODELS if root is None else MODELS.under(root)
    return layout.path("model", network=model)


def measure_params(
    section: Mapping[str, Any], studies: Mapping[str, Mapping[str, Any]], model: str
) -> dict[str, Any]:
    """One model's measuring job's settings: the card's scale and, for each attack, its own
    study's settings (the same attack as the study runs, so the columns compare)."""
    own = is_own(section, model)
    return {
        "settings": {key: section[key] for key in section if key not in ("enabled", "model")},
        "model": {
            "name": model,
            "own": own,
            "pixel_max": section["model"]["pixel_max"] if own else 1,
            "layer": section["model"]["layer"] if own else section["layers"].get(model),
        },
        "fgsm": studies["defences"]["fgsm"],
        "pgd": studies["defences"]["pgd"],
        "lbfgs": studies["szegedy"]["attack"],
        "evolve": studies["fooling"]["defaults"]["evolve"],
        "ascend": studies["fooling"]["defaults"]["ascend"],
        "corners": studies["collisions_mnist"]["defaults"]["micro"],
        "polytope": studies["collisions_mnist"]["polytope"],
    }


def jobs(
    section: Mapping[str, Any],
    studies: Mapping[str, Mapping[str, Any]],
    reads: Mapping[str, list[str]],
    root: str | None = None,
) -> dict[str, dict[str, dict[str, Any]]]:
    """Every job's ``input``, ``output`` and ``params``: one measuring job per model (keyed
    ``measure/<model>``) and the report. ``reads``: the other studies' files of
    :data:`INPUTS` (empty lists for a study that is off); ``root``: a folder the files lie
    below."""
    from fooled.data.layout import MNIST
    from fooled.report.layout import section_files

    own = LAYOUT if root is None else LAYOUT.under(root)
    mnist = MNIST if root is None else MNIST.under(root)
    others = {name: list(reads.get(name, [])) for name in INPUTS}
    planned: dict[str, dict[str, dict[str, Any]]] = {}
    for model in models(section):
        planned[f"measure/{model}"] = {
            "input": {
                "mnist": mnist.path("mnist"),
                "model": model_file(section, model, root),
                **others,
            },
            "output": {"measures": own.path("measures", model=model)},
            "params": measure_params(section, studies, model),
        }
    report = section_files("card")
    if root is not None:
        report = {name: f"{root}/{path}" for name, path in report.items()}
    planned["report"] = {
        "input": {"measures": [own.path("measures", model=model) for model in models(section)]},
        "output": report,
        "params": {},
    }
    return planned

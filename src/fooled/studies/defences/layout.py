"""Where the defences study's artifacts lie, and what it reads from the other studies."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fooled.core.layout import Inputs, Layout, StudyLayout, artifacts

LAYOUT = Layout(
    "results/defences",
    artifacts(
        fgsm=(
            "fgsm.h5",
            "fast-gradient-sign examples on the MLP at each epsilon, and their error",
        ),
        pgd=(
            "pgd.h5",
            "projected-gradient-descent examples on the MLP at each epsilon, and their error",
        ),
        adversarial_model=(
            "adversarial_training/model.keras",
            "the MLP trained with the adversarial objective",
        ),
        adversarial_metrics=(
            "adversarial_training.h5",
            "its clean and adversarial error, and the transfer of examples between the two",
        ),
        autoencoder=("autoencoder/model.keras", "the detector's autoencoder"),
        errors=(
            "autoencoder.h5",
            "its reconstruction error on clean test digits, and the threshold",
        ),
        score=(
            "score.h5",
            "the detector on every kind of input the run made: errors, ROC, detection rates",
        ),
        adaptive=(
            "adaptive.h5",
            "attacks made adaptive to the detector (its error added to their loss)",
        ),
        seed_fgsm=(
            "seeds/seed{seed}/fgsm.h5",
            "FGSM on the MLP of a further seed (models.mlp.replicate_seeds)",
        ),
        seed_pgd=("seeds/seed{seed}/pgd.h5", "PGD on that MLP"),
        seed_adversarial_model=(
            "seeds/seed{seed}/adversarial_training/model.keras",
            "that MLP trained with the adversarial objective, at that seed",
        ),
        seed_adversarial_metrics=(
            "seeds/seed{seed}/adversarial_training.h5",
            "its clean and adversarial error before and after",
        ),
        seed_autoencoder=(
            "seeds/seed{seed}/autoencoder/model.keras",
            "an autoencoder trained at that seed",
        ),
        seed_errors=(
            "seeds/seed{seed}/autoencoder.h5",
            "its reconstruction error on clean test digits, and the threshold",
        ),
    ),
    "the defences study",
)

# What the detector is scored on from the other studies (absent when a study is not run),
# and the robustness card's measures, whose user's model the report shows under FGSM and PGD
# beside the project's MLP.
INPUTS = Inputs.of(
    lbfgs="szegedy.attack",
    evolved="fooling.evolve",
    ascent="fooling.ascend",
    collisions="collisions_mnist.collide",
    interpolations="collisions_mnist.interpolate",
    sources="collisions_mnist.sources",
    card="card.measures",
)
SCORED = ("lbfgs", "evolved", "ascent", "collisions", "interpolations", "sources")


def files(
    artifact: str, section: Mapping[str, Any], experiments: Mapping[str, Mapping[str, Any]]
) -> list[str]:
    return [LAYOUT.path(artifact)]


# The stages repeated at each further seed of the MLP (models.mlp.replicate_seeds): FGSM and
# PGD on that MLP, adversarial training from it and an autoencoder, every one seeded with it.
# The detector's scores and the adaptive attacks stay on the study's own models.
SEED_STAGES = ("fgsm", "adversarial_training", "autoencoder")
SEED_OUTPUTS = {
    "fgsm": {"fgsm": "seed_fgsm", "pgd": "seed_pgd"},
    "adversarial_training": {
        "model": "seed_adversarial_model",
        "metrics": "seed_adversarial_metrics",
    },
    "autoencoder": {"model": "seed_autoencoder", "errors": "seed_errors"},
}


def seeded(section: Mapping[str, Any], seed: int) -> dict[str, Any]:
    """The study's settings with every seed a further MLP's stages use set to ``seed``."""
    return {
        **section,
        **{
            part: {**section[part], "seed": seed}
            for part in ("adversarial_training", "autoencoder", "pgd")
        },
    }


def seed_jobs(
    section: Mapping[str, Any], seed: int | str, root: str | None = None
) -> dict[str, dict[str, dict[str, Any]]]:
    """The :data:`SEED_STAGES`' ``input``, ``output`` and ``params`` at one further seed of
    the MLP (``"{seed}"`` for the rules' wildcard; its params then hold that text)."""
    from fooled.data.layout import MNIST
    from fooled.models.layout import MODELS

    def place(layout: Layout) -> Layout:
        return layout if root is None else layout.under(root)

    own = place(LAYOUT).path
    settings = seeded(section, seed)  # type: ignore[arg-type]
    base = {
        "mnist": place(MNIST).path("mnist"),
        "model": place(MODELS).path("replicate_model", network="mlp", seed=seed),
    }
    outputs = {
        stage: {name: own(artifact, seed=seed) for name, artifact in named.items()}
        for stage, named in SEED_OUTPUTS.items()
    }
    return {
        "fgsm": {
            "input": base,
            "output": outputs["fgsm"],
            "params": {
                "settings": settings["fgsm"],
                "pgd": settings["pgd"],
                "model_name": f"mlp_seed{seed}",
            },
        },
        "adversarial_training": {
            "input": base,
            "output": outputs["adversarial_training"],
            "params": {
                "settings": settings["adversarial_training"],
                "fgsm": settings["fgsm"],
                "pgd": settings["pgd"],
            },
        },
        "autoencoder": {
            "input": {"mnist": base["mnist"]},
            "output": outputs["autoencoder"],
            "params": {"settings": settings["autoencoder"]},
        },
    }


STUDY = StudyLayout(LAYOUT, files, INPUTS)


# Each stage's named inputs, outputs and settings: the study's rules (workflow/rules/studies/
# defences.smk) and the runs outside Snakemake (benchmarks, tests: stages.plan_jobs) both
# take them from here, so the wiring is written once.
STAGES = ("fgsm", "adversarial_training", "autoencoder", "score", "adaptive", "report")


# ``siblings(reference, files, artifact, reverse)``: each file of a referenced artifact ->
# the file of another artifact of the same study with the same wildcards (the study
# registry's ``siblings``; a study does not know another's layout).
Siblings = Callable[[str, list[str], str, bool], dict[str, str]]


def seed_params(section: Mapping[str, Any], stage: str) -> dict[str, Callable[[Any], Any]]:
    """A seed stage's params for its rule: each a function of the job's wildcards, giving
    that param at the job's ``{seed}`` (:func:`seed_jobs`)."""

    def named(name: str) -> Callable[[Any], Any]:
        return lambda wildcards: seed_jobs(section, int(wildcards.seed))[stage]["params"][name]

    return {name: named(name) for name in seed_jobs(section, 0)[stage]["params"]}


def jobs(
    section: Mapping[str, Any],
    reads: Mapping[str, list[str]],
    redo: Mapping[str, list[str]] | None = None,
    siblings: Siblings | None = None,
    root: str | None = None,
    mlp_seeds: tuple[int, ...] | list[int] = (),
) -> dict[str, dict[str, dict[str, Any]]]:
    """Every stage's ``input``, ``output`` and ``params``.

    ``mlp_seeds``: the MLP's further seeds (models.mlp.replicate_seeds), whose
    :func:`seed_jobs` files the report reads beside the study's own.
    ``reads``: what the detector is scored on from the other studies (:data:`INPUTS`, name ->
    files); ``redo``: those of them the adaptive stage redoes (default: the same);
    ``siblings`` pairs each interpolation file with its corners and each macro experiment
    with its source digits (none without it). ``root``: a folder the run's files lie below.
    """
    reads = {name: list(reads.get(name, [])) for name in INPUTS}
    redo = reads if redo is None else {name: list(redo.get(name, [])) for name in INPUTS}
    corners_of: dict[str, str] = {}
    sources_of: dict[str, str] = {}
    if siblings is not None:
        corners = INPUTS["collisions"].artifact
        corners_of = siblings(
            str(INPUTS["interpolations"]), reads["interpolations"], corners, False
        )
        sources_of = siblings(str(INPUTS["sources"]), redo["sources"], corners, True)
    from fooled.data.layout import MNIST
    from fooled.models.layout import MODELS
    from fooled.report.layout import section_files

    def place(layout: Layout) -> Layout:
        return layout if root is None else layout.under(root)

    own = place(LAYOUT).path
    base = {
        "mnist": place(MNIST).path("mnist"),
        "model": place(MODELS).path("model", network="mlp"),
    }
    detector = {"autoencoder": own("autoencoder"), "errors": own("errors")}
    report = section_files("defences")
    if root is not None:
        report = {name: f"{root}/{path}" for name, path in report.items()}
    return {
        "fgsm": {
            "input": base,
            "output": {"fgsm": own("fgsm"), "pgd": own("pgd")},
            "params": {"settings": section["fgsm"], "pgd": section["pgd"]},
        },
        "adversarial_training": {
            "input": base | {"lbfgs": list(reads.get("lbfgs", []))},
            "output": {"model": own("adversarial_model"), "metrics": own("adversarial_metrics")},
            "params": {
                "settings": section["adversarial_training"],
                "fgsm": section["fgsm"],
                "pgd": section["pgd"],
            },
        },
        "autoencoder": {
            "input": {"mnist": base["mnist"]},
            "output": {"model": own("autoencoder"), "errors": own("errors")},
            "params": {"settings": section["autoencoder"]},
        },
        "score": {
            "input": base
            | detector
            | {"fgsm": own("fgsm"), "pgd": own("pgd")}
            | {n: list(f) for n, f in reads.items() if n in SCORED},
            "output": {"score": own("score")},
            "params": {"settings": section["score"], "corners_of": corners_of},
        },
        "adaptive": {
            "input": base
            | detector
            | {
                "collisions": list(redo.get("collisions", [])),
                "sources": list(redo.get("sources", [])),
            },
            "output": {"adaptive": own("adaptive")},
            "params": {
                "settings": section["adaptive"],
                "fgsm": section["fgsm"],
                "pgd": section["pgd"],
                "sources_of": sources_of,
            },
        },
        "report": {
            "input": {
                "fgsm": own("fgsm"),
                "pgd": own("pgd"),
                "metrics": own("adversarial_metrics"),
                "errors": own("errors"),
                "score": own("score"),
                "adaptive": own("adaptive"),
                "card": list(reads.get("card", [])),
                "mlp_metrics": [
                    place(MODELS).path("metrics", network="mlp"),
                    *(
                        place(MODELS).path("replicate_metrics", network="mlp", seed=seed)
                        for seed in mlp_seeds
                    ),
                ],
                **{
                    name: [own(artifact, seed=seed) for seed in mlp_seeds]
                    for name, artifact in (
                        ("seed_fgsm", "seed_fgsm"),
                        ("seed_pgd", "seed_pgd"),
                        ("seed_metrics", "seed_adversarial_metrics"),
                        ("seed_errors", "seed_errors"),
                    )
                },
            },
            "output": report,
            "params": {},
        },
    }

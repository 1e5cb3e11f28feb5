"""The defences study's figures at each seed of the MLP, and their spread over the seeds.

The summary's ``seeds`` lists, for the MLP of ``models.mlp.seed`` and each further seed
(``models.mlp.replicate_seeds``), FGSM and PGD error at every epsilon, adversarial training's
errors and the autoencoder's clean error (:func:`fooled.studies.defences.report.seed_row`).
Here they are read at the paper's epsilon, one number per seed and figure, which the report's
table, the README line and the claims take their mean and spread from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fooled.report.claims import Measure, mean_sd
from fooled.studies.defences.paper import FGSM_EPSILON, at_epsilon

# Figure name -> what it is, in the order of the report's table.
FIGURES = {
    "mlp_test_accuracy": "MLP test accuracy",
    "fgsm_error": f"FGSM error at eps {FGSM_EPSILON:g}",
    "fgsm_error_float32": f"FGSM error at eps {FGSM_EPSILON:g}, float32 gradient",
    "pgd_error": f"PGD error at eps {FGSM_EPSILON:g}",
    "clean_error_before": "clean error",
    "clean_error_after": "clean error after adversarial training",
    "fgsm_error_before": f"FGSM error at eps {FGSM_EPSILON:g} before adversarial training",
    "fgsm_error_after": f"FGSM error at eps {FGSM_EPSILON:g} after adversarial training",
    "pgd_error_before": f"PGD error at eps {FGSM_EPSILON:g} before adversarial training",
    "pgd_error_after": f"PGD error at eps {FGSM_EPSILON:g} after adversarial training",
    "autoencoder_clean_mean": "autoencoder: mean clean reconstruction error",
}


def at_paper_epsilon(row: Mapping[str, Any]) -> dict[str, float | None]:
    """One seed's figures (:data:`FIGURES`), each at eps 0.25 where it has an epsilon (None
    where the run has no such epsilon or figure)."""
    eps = FGSM_EPSILON
    training = row["adversarial_training"]
    return {
        "mlp_test_accuracy": row.get("mlp_test_accuracy"),
        "fgsm_error": at_epsilon(row["epsilons"], row["fgsm_error"], eps),
        "fgsm_error_float32": at_epsilon(row["epsilons"], row["fgsm_error_float32"], eps),
        "pgd_error": at_epsilon(row["pgd_epsilons"], row["pgd_error"], eps),
        "clean_error_before": training["clean_error_before"],
        "clean_error_after": training["clean_error_after"],
        **{
            f"{attack}_error_{moment}": at_epsilon(
                training["epsilons" if attack == "fgsm" else "pgd_epsilons"],
                training[f"{attack}_error_{moment}"],
                eps,
            )
            for attack in ("fgsm", "pgd")
            for moment in ("before", "after")
        },
        "autoencoder_clean_mean": row["autoencoder_clean_mean"],
    }


def over_seeds(rows: Sequence[Mapping[str, Any]], figure: str) -> Measure | None:
    """One figure's mean and spread over the seeds (None where a seed lacks it)."""
    values = [at_paper_epsilon(row)[figure] for row in rows]
    if not values or any(value is None for value in values):
        return None
    return mean_sd(values, "seed")  # type: ignore[arg-type]


def factor_over_seeds(
    rows: Sequence[Mapping[str, Any]], before: str, after: str, floor: float
) -> Measure | None:
    """Error before over error after adversarial training, per seed, with its spread (the
    error after is at least ``floor``, one image's share)."""
    figures = [at_paper_epsilon(row) for row in rows]
    if not figures or any(f[before] is None or f[after] is None for f in figures):
        return None
    return mean_sd([f[before] / max(f[after], floor) for f in figures], "seed")  # type: ignore[operator]

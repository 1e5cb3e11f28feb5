"""The numbers of Szegedy et al. (2014) that the study compares with, each with its source.

Sources (as in ../shared/docs/STUDIES.md, section 1):

- ``paper``: the paper's Tables 1-5 and its adversarial-training figures, checked
  against its printed tables (STUDIES.md says so; no number here is "as recalled").
- ``seed``: stated in the seed document (../shared/seeds/000_...): only
  qualitative claims (units versus random directions; cross-training transfer).

Rates are fractions (0.871 = 87.1%); distortions are ``sqrt(sum(r^2) / n)``.
"""

from __future__ import annotations

from typing import Any

PAPER = "paper"
SEED = "seed"

# Table 1: train error, test error, average minimal distortion.
TABLE1: dict[str, dict[str, Any]] = {
    "FC10(1e-4)": {"train_error": 0.067, "test_error": 0.074, "distortion": 0.062},
    "FC10(1e-2)": {"train_error": 0.10, "test_error": 0.094, "distortion": 0.1},
    "FC10(1)": {"train_error": 0.212, "test_error": 0.20, "distortion": 0.14},
    "FC100-100-10": {"train_error": 0.0, "test_error": 0.0164, "distortion": 0.058},
    "FC200-200-10": {"train_error": 0.0, "test_error": 0.0154, "distortion": 0.065},
    "AE400-10": {"train_error": 0.0057, "test_error": 0.019, "distortion": 0.086},
}
TABLE1_SOURCE = PAPER

# Table 2: rows are the models the examples were made for (and noise), columns the models
# that classify them; the last column the rows' average distortion.
TABLE2_COLUMNS = ("FC10(1e-4)", "FC10(1e-2)", "FC10(1)", "FC100-100-10", "FC200-200-10", "AE400-10")
TABLE2: dict[str, dict[str, Any]] = {
    "FC10(1e-4)": {"errors": (1.0, 0.117, 0.227, 0.02, 0.039, 0.027), "distortion": 0.062},
    "FC10(1e-2)": {"errors": (0.871, 1.0, 0.352, 0.359, 0.273, 0.098), "distortion": 0.1},
    "FC10(1)": {"errors": (0.719, 0.762, 1.0, 0.481, 0.47, 0.344), "distortion": 0.14},
    "FC100-100-10": {"errors": (0.289, 0.137, 0.211, 1.0, 0.066, 0.02), "distortion": 0.058},
    "FC200-200-10": {"errors": (0.382, 0.14, 0.238, 0.203, 1.0, 0.027), "distortion": 0.065},
    "AE400-10": {"errors": (0.234, 0.16, 0.248, 0.094, 0.066, 1.0), "distortion": 0.086},
    "Gaussian noise, stddev 0.1": {
        "errors": (0.05, 0.101, 0.183, 0.0, 0.0, 0.008),
        "distortion": 0.1,
    },
    "Gaussian noise, stddev 0.3": {
        "errors": (0.156, 0.113, 0.227, 0.05, 0.043, 0.031),
        "distortion": 0.3,
    },
}

# Table 3: the cross-training-set models' errors on the halves and the test set.
TABLE3_COLUMNS = ("error on P1", "error on P2", "test error")
TABLE3: dict[str, dict[str, Any]] = {
    "FC100-100-10 (P1)": {"errors": (0.0, 0.024, 0.02)},
    "FC123-456-10 (P1)": {"errors": (0.0, 0.025, 0.021)},
    "FC100-100-10' (P2)": {"errors": (0.023, 0.0, 0.021)},
}
TABLE3_SOURCE = PAPER

# Table 4: error each model makes on examples made for another; magnified to stddev 0.1.
TABLE4_COLUMNS = ("FC100-100-10 (P1)", "FC123-456-10 (P1)", "FC100-100-10' (P2)")
TABLE4: dict[str, dict[str, Any]] = {
    "for FC100-100-10 (P1)": {"errors": (1.0, 0.262, 0.059), "distortion": 0.062},
    "for FC123-456-10 (P1)": {"errors": (0.0625, 1.0, 0.051), "distortion": 0.059},
    "for FC100-100-10' (P2)": {"errors": (0.082, 0.082, 1.0), "distortion": 0.058},
    "Gaussian noise, stddev 0.06": {"errors": (0.022, 0.026, 0.024), "distortion": 0.06},
    "magnified, for FC100-100-10 (P1)": {"errors": (1.0, 0.98, 0.43), "distortion": 0.1},
    "magnified, for FC123-456-10 (P1)": {"errors": (0.96, 1.0, 0.22), "distortion": 0.1},
    "magnified, for FC100-100-10' (P2)": {"errors": (0.27, 0.50, 1.0), "distortion": 0.1},
    "Gaussian noise, stddev 0.1": {"errors": (0.026, 0.028, 0.027), "distortion": 0.1},
}

# Table 5: upper Lipschitz bounds of AlexNet's layers (operator norms).
TABLE5: list[dict[str, Any]] = [
    {"layer": "Conv. 1", "size": "3x11x11x96", "stride": 4, "bound": 2.75},
    {"layer": "Conv. 2", "size": "96x5x5x256", "stride": 1, "bound": 10.0},
    {"layer": "Conv. 3", "size": "256x3x3x384", "stride": 1, "bound": 7.0},
    {"layer": "Conv. 4", "size": "384x3x3x384", "stride": 1, "bound": 7.5},
    {"layer": "Conv. 5", "size": "384x3x3x256", "stride": 1, "bound": 11.0},
    {"layer": "FC1", "size": "9216x4096", "stride": None, "bound": 3.12},
    {"layer": "FC2", "size": "4096x4096", "stride": None, "bound": 4.0},
    {"layer": "FC3", "size": "4096x1000", "stride": None, "bound": 4.0},
]
TABLE5_SOURCE = PAPER

# Adversarial training of FC100-100-10 (test error).
ADVERSARIAL_TRAINING = {"adversarial": 0.012, "weight_decay": 0.016, "dropout": 0.013}
ADVERSARIAL_TRAINING_NOTE = "below 1.2% with a pool of adversarial examples (paper)"

# Units versus random directions: the paper shows figures only (seed: 'no distinction').
UNITS_CLAIM = (
    "no distinction between individual high level units and random linear combinations "
    "of high level units (seed)"
)


def summary() -> dict[str, Any]:
    """Every paper number, for ``summary.json`` (sources beside the tables)."""
    return {
        "table1": {"rows": TABLE1, "source": TABLE1_SOURCE},
        "table2": {
            "columns": list(TABLE2_COLUMNS),
            "rows": {
                key: {**value, "errors": list(value["errors"])} for key, value in TABLE2.items()
            },
            "source": PAPER,
        },
        "table3": {
            "columns": list(TABLE3_COLUMNS),
            "rows": {key: list(value["errors"]) for key, value in TABLE3.items()},
            "source": TABLE3_SOURCE,
        },
        "table4": {
            "columns": list(TABLE4_COLUMNS),
            "rows": {
                key: {**value, "errors": list(value["errors"])} for key, value in TABLE4.items()
            },
            "source": PAPER,
        },
        "table5": {"rows": TABLE5, "source": TABLE5_SOURCE},
        "adversarial_training": {**ADVERSARIAL_TRAINING, "source": PAPER},
        "units": {"claim": UNITS_CLAIM, "source": SEED},
    }

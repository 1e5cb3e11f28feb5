# Config validation and the helpers that turn config into file lists.
# A bad config stops the run here, before any job, with one line naming the key.

import sys
from pathlib import Path

from feature_collisions.config import ConfigError, load_config

try:
    config, EXPERIMENTS = load_config(config, Path(workflow.basedir) / "workflow" / "schemas")
except ConfigError as error:
    sys.exit(f"Config error: {error}")


wildcard_constraints:
    experiment="|".join(sorted(EXPERIMENTS)),


MNIST_H5 = "resources/mnist/mnist.h5"
MODEL = "results/mnist/model/model.keras"
METRICS = "results/mnist/model/metrics.h5"


def collide_path(name):
    return f"results/mnist/collide/{name}.h5"


def interpolate_path(name):
    return f"results/mnist/interpolate/{name}.h5"


def polytope_path(name):
    return f"results/mnist/polytope/{name}.h5"


def polytope_eligible(settings):
    """The exact LP polytope needs a layer affine in the pixels: micro experiments on fc1."""
    return settings.get("layer") == "fc1" and settings.get("mode", "micro") == "micro"


POLYTOPE_EXPERIMENTS = [
    name for name, settings in EXPERIMENTS.items() if polytope_eligible(settings)
]


def final_outputs():
    return ["results/report/report.html", "results/report/summary.json"]


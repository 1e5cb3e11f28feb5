"""The defences study's checks across config keys (run by the loader before any job).

``adaptive.collision_experiments`` names experiments of the collisions_mnist
study (read from the loaded config: no study imports another), whose corners
the adaptive stage redoes; a name that is none of them would silently drop
its rows.
"""

from __future__ import annotations

from fooled.core.config import LoadedConfig

STUDY = "defences"
COLLISIONS = "collisions_mnist"


def check(loaded: LoadedConfig) -> None:
    """Every collision experiment the adaptive stage redoes is one the other study defines."""
    wanted = loaded.section(STUDY)["adaptive"]["collision_experiments"]
    if wanted is None or not loaded.in_run(COLLISIONS):
        return  # null: all of them; the other study out of the run: none to redo
    what = f"an experiment of {COLLISIONS}"
    if not loaded.section(COLLISIONS)["enabled"]:
        what += ", which is disabled: enable it for its corners to be redone"
    key = ("studies", STUDY, "adaptive", "collision_experiments")
    loaded.check_names(key, wanted, loaded.experiments[COLLISIONS], what)

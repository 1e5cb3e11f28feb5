"""Settings dataclasses built from a config mapping.

Settings classes hold no defaults (the schemas do, once), so a key missing from
the mapping is the caller's mistake: one line names every missing key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any


def config_fields(cls: type, settings: Mapping[str, Any], what: str) -> dict[str, Any]:
    """The values of the dataclass ``cls``'s fields, read from ``settings`` (other keys ignored)."""
    names = [field.name for field in fields(cls)]
    missing = [name for name in names if name not in settings]
    if missing:
        raise ValueError(f"{what} settings lack {', '.join(missing)}")
    return {name: settings[name] for name in names}

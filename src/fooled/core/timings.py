"""Which numbers of a summary are timings: the ones no two runs share.

A run's ``summary.json`` holds results (reproducible, bit for bit on the same numerics
fingerprint) and timings (seconds, rates), which vary from run to run on one machine.
Comparisons of runs (the README's generated tables, the reference run, the SLURM run
against a local one) compare results and leave timings out, by the keys' names: a key
holding ``second`` (``seconds``, ``train_seconds``, ``seconds_per_lp``,
``generations_per_second_mean``) is a timing.
"""

from __future__ import annotations

from typing import Any


def is_timing(key: str) -> bool:
    return "second" in key


def without_timings(value: Any) -> Any:
    """``value`` with every timing key removed, at every depth."""
    if isinstance(value, dict):
        return {key: without_timings(item) for key, item in value.items() if not is_timing(key)}
    if isinstance(value, list):
        return [without_timings(item) for item in value]
    return value


def with_timings_of(value: Any, source: Any) -> Any:
    """``value`` with each timing replaced by ``source``'s at the same place, where it has one.

    Rendering a fresh run's summary with the reference run's timings gives text that equals
    the reference's wherever the results are equal (``readme_tables --check``).
    """
    if isinstance(value, dict) and isinstance(source, dict):
        return {
            key: (
                source[key]
                if is_timing(key) and key in source
                else with_timings_of(item, source.get(key))
            )
            for key, item in value.items()
        }
    if isinstance(value, list) and isinstance(source, list) and len(value) == len(source):
        return [with_timings_of(item, other) for item, other in zip(value, source, strict=True)]
    return value

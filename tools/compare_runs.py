"""Compare two runs' summary.json, result by result (timings and provenance left out).

    python tools/compare_runs.py docs/reference/summary.json results/report/summary.json

Prints how many numbers were compared, which differ per study and by how much (relative),
and exits 1 when any result differs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from fooled.core.compare import compare, describe  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("first", type=Path)
    parser.add_argument("second", type=Path)
    arguments = parser.parse_args(argv)
    comparison = compare(
        json.loads(arguments.first.read_text()), json.loads(arguments.second.read_text())
    )
    print(describe(comparison))
    return 0 if comparison.identical else 1


if __name__ == "__main__":
    sys.exit(main())

"""The README's results tables, generated from a run's summary.json, and their reference run.

    python tools/readme_tables.py results/report/summary.json --write README.md
    python tools/readme_tables.py docs/reference/summary.json --check README.md
    python tools/readme_tables.py results/report/summary.json --record
    python tools/readme_tables.py results/report/summary.json --record haswell
    python tools/readme_tables.py results/report/summary.json --record paper   # after `make paper`

``--write`` replaces every block between ``<!-- BEGIN generated: NAME -->`` and
``<!-- END generated: NAME -->`` with the study's table of that name; ``--check`` exits 1
when the README's results differ from the summary's: timings (seconds, rates:
fooled.core.timings) vary from run to run, so the check renders the summary with the
reference run's timings (``--timings-from``, docs/reference/summary.json by default) and
a fresh run of the same numerics passes. ``--record`` keeps the summary as the reference
run (docs/reference/summary.json) with the numerics fingerprint of the machine that made
it (docs/reference/environment.json), which tests/test_reproduce.py compares fresh runs
with; ``--record NAME`` keeps a run of the same machine under another BLAS kernel in
docs/reference/kernels/NAME/ (the README's block ``reference_kernels`` compares them).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from fooled.core.compare import PRIMARY, compare, reference_runs  # noqa: E402
from fooled.core.fingerprint import numerics_fingerprint  # noqa: E402
from fooled.core.timings import with_timings_of  # noqa: E402
from fooled.report import claims  # noqa: E402
from fooled.studies import registry  # noqa: E402

REFERENCE = ROOT / "docs" / "reference"
PAPER = "paper"
PAPER_REFERENCE = REFERENCE / PAPER
BLOCK = re.compile(
    r"(<!-- BEGIN generated: (?P<name>[\w.-]+) -->\n)(?P<body>(?:.*?\n)?)"
    r"(<!-- END generated: (?P=name) -->)",
    re.S,
)


def study_tables(summary: dict) -> dict[str, str]:
    """The verdicts and every study's README tables, generated from one run's summary."""
    verdicts = claims.evaluate(registry.claims(), summary)
    found = {"verdicts": claims.markdown_table(verdicts)}
    for study in {verdict.study for verdict in verdicts} & set(summary):
        # verdicts.<study>: one study's rows, for its docs page
        found[f"verdicts.{study}"] = claims.markdown_table(
            [verdict for verdict in verdicts if verdict.study == study]
        )
    for module in registry.readme_modules().values():
        found |= module.tables(summary)
    return found


def paper_tables() -> dict[str, str]:
    """The same tables from the committed paper-scale reference, as ``paper.NAME``."""
    path = PAPER_REFERENCE / "summary.json"
    if not path.is_file():
        return {}
    summary = json.loads(path.read_text())
    return {f"{PAPER}.{name}": table for name, table in study_tables(summary).items()}


NUMERICS = REFERENCE / "numerics" / "variants.json"


def numerics_table(path: Path) -> dict[str, str]:
    """The key numbers under other kernel caps, oneDNN and thread counts, as
    benchmarks/bench_numerics.py --record kept them (block ``numerics_variants``)."""
    if not path.is_file():
        return {}
    document = json.loads(path.read_text())
    environment = document["environment"]
    lines = [
        "| variant | what differs from the package's settings | MLP test accuracy "
        "| paper case: mean corner distance | macro case: mean corner distance |",
        "| --- | --- | --- | --- | --- |",
    ]
    variants = document["variants"]
    # The package's own settings first, then each change from them.
    for name in sorted(variants, key=lambda name: (name != "package", name)):
        variant = variants[name]
        lines.append(
            f"| {name} | {variant['what']} | {100 * variant['mlp_test_accuracy']:.2f}% | "
            f"{variant['paper_case_corners']:.2f} | {variant['macro_case_corners']:.2f} |"
        )
    lines.append("")
    lines.append(
        f"Measured on {environment['cpu_model']} with TensorFlow {environment['tensorflow']} "
        f"(`{document['command']}`; the fingerprint is in "
        f"`{path.relative_to(ROOT).as_posix()}`)."
    )
    return {"numerics_variants": "\n".join(lines)}


def blocks(summary: dict) -> dict[str, str]:
    return (
        {"reference_kernels": kernels_table(REFERENCE)}
        | numerics_table(NUMERICS)
        | study_tables(summary)
        | paper_tables()
    )


def _kernels(environment: dict) -> str:
    return " / ".join(
        f"{kernel['package']}: {kernel['architecture']} (OpenBLAS {kernel['version']})"
        for kernel in environment.get("blas", [])
    )


def kernels_table(folder: Path) -> str:
    """The committed reference runs, their BLAS kernels and how their results differ."""
    runs = reference_runs(folder)
    primary = json.loads((runs[PRIMARY] / "summary.json").read_text())
    lines = [
        "| reference run | BLAS kernel of each package (its OpenBLAS) | OPENBLAS_L2_SIZE "
        "| results that differ from the primary run | largest relative difference |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, path in runs.items():
        environment = json.loads((path / "environment.json").read_text())
        where = path.relative_to(ROOT).as_posix()
        if name == PRIMARY:
            differ, largest = "-", "-"
        else:
            comparison = compare(primary, json.loads((path / "summary.json").read_text()))
            studies = ", ".join(
                f"{study} {count}" for study, (count, _) in comparison.by_study().items()
            )
            differ = (
                f"{len(comparison.differing_numbers)} of {comparison.n_numbers} numbers"
                + (f" ({studies})" if studies else "")
                + (
                    f"; {len(comparison.differing_other)} other"
                    if comparison.differing_other
                    else ""
                )
            )
            largest = f"{comparison.largest()[1]:.1e}" if comparison.largest() else "0"
        lines.append(
            f"| {name} (`{where}`) | {_kernels(environment)} | "
            f"{environment.get('OPENBLAS_L2_SIZE') or 'unset'} | {differ} | {largest} |"
        )
    return "\n".join(lines)


def render(readme: str, tables: dict[str, str]) -> str:
    def replace(match: re.Match) -> str:
        name = match.group("name")
        if name not in tables:
            raise SystemExit(f"README block '{name}': the summary has no such table")
        return match.group(1) + tables[name] + "\n" + match.group(4)

    return BLOCK.sub(replace, readme)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("summary", type=Path)
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", type=Path, metavar="README")
    action.add_argument("--check", type=Path, metavar="README")
    action.add_argument(
        "--record",
        nargs="?",
        const=PRIMARY,
        metavar="NAME",
        help="keep the summary as the reference run (NAME: a run under another BLAS kernel, "
        "kept in docs/reference/kernels/NAME/; 'paper': the paper-scale run, "
        "docs/reference/paper/)",
    )
    parser.add_argument(
        "--timings-from",
        type=Path,
        default=REFERENCE / "summary.json",
        metavar="SUMMARY",
        help="with --check: the run whose timings the README shows (default: the reference)",
    )
    arguments = parser.parse_args(argv)
    summary = json.loads(arguments.summary.read_text())
    if arguments.record:
        if arguments.record == PRIMARY:
            folder = REFERENCE
        elif arguments.record == PAPER:
            folder = PAPER_REFERENCE
        else:
            folder = REFERENCE / "kernels" / arguments.record
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(arguments.summary, folder / "summary.json")
        (folder / "environment.json").write_text(
            json.dumps(numerics_fingerprint(), indent=2, sort_keys=True) + "\n"
        )
        print(f"recorded {arguments.summary} as the reference run in {folder}")
        return 0
    target = arguments.write or arguments.check
    readme = target.read_text()
    if arguments.check:
        summary = with_timings_of(summary, json.loads(arguments.timings_from.read_text()))
    updated = render(readme, blocks(summary))
    if arguments.write:
        target.write_text(updated)
        print(f"wrote {len(BLOCK.findall(readme))} generated blocks into {target}")
        return 0
    if updated != readme:
        print(
            f"{target}: generated blocks differ from {arguments.summary} (timings aside); "
            "run --write"
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The docs' generated tables: files from the layouts that declare them, results from the
paper-scale reference run.

    python tools/docs_tables.py --write     # rewrite every generated block in docs/ and README.md
    python tools/docs_tables.py --check     # exit 1 when a block differs from the layouts

Blocks between ``<!-- BEGIN generated: files:NAME -->`` and ``<!-- END generated: files:NAME
-->`` hold the table of one layout: a registered study's (``files:szegedy``) or a shared
one's (``files:mnist``, ``files:imagenet``, ``files:models``, ``files:vgg16``,
``files:report``, ``files:workflow``). ``stages:defences`` is the defences study's wiring
(each stage's named inputs, outputs and settings). Every path the docs give comes from here.
Blocks ``paper.NAME`` hold a results table generated from the paper-scale reference run
(docs/reference/paper/summary.json, by the studies' ``readme.tables``: tools/readme_tables.py).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from fooled.core.layout import WORKFLOW, Layout, markdown_table  # noqa: E402
from fooled.data.layout import IMAGENET, MNIST  # noqa: E402
from fooled.models.layout import MODELS, VGG16  # noqa: E402
from fooled.report.layout import REPORT  # noqa: E402
from fooled.studies import registry  # noqa: E402

sys.path.insert(0, str(ROOT / "tools"))
from readme_tables import paper_tables  # noqa: E402

BLOCK = re.compile(
    r"(<!-- BEGIN generated: (?P<name>(?:files|stages):[\w.-]+|paper\.[\w.-]+) -->\n)"
    r"(?P<body>(?:.*?\n)?)"
    r"(<!-- END generated: (?P=name) -->)",
    re.S,
)
SHARED: dict[str, Layout] = {
    "mnist": MNIST,
    "imagenet": IMAGENET,
    "models": MODELS,
    "vgg16": VGG16,
    "report": REPORT,
    "workflow": WORKFLOW,
}
DOCUMENTS = ("README.md", "docs")


def layouts() -> dict[str, Layout]:
    return SHARED | {study.name: study.study_layout().layout for study in registry.STUDIES}


def defences_stages() -> str:
    """The defences study's jobs as its rules wire them, the other studies' files by name."""
    from fooled.core.config import schema_defaults
    from fooled.studies.defences import layout

    section = schema_defaults("studies/defences.schema.yaml")
    reads = {name: [f"<{layout.INPUTS[name]}>"] for name in layout.INPUTS}
    lines = ["| stage | inputs | outputs | params |", "| --- | --- | --- | --- |"]

    def listed(named: dict, show_paths: bool) -> str:
        parts = []
        for name, value in named.items():
            if isinstance(value, list):
                parts.append(f"`{name}` (list: {', '.join(value) or 'none'})")
            elif show_paths:
                parts.append(f"`{name}` = `{value}`")
            else:
                parts.append(f"`{name}`")
        return ", ".join(parts) or "none"

    def params_of(wiring: dict, settings: dict, note: str = "") -> str:
        return ", ".join(
            f"`{name}`"
            + "".join(
                f" = `defences.{key}`{note if 'seed' in value else ''}"
                for key in settings
                if settings[key] == value
            )
            for name, value in wiring["params"].items()
        )

    # The seed stages run at each further seed of the MLP (models.mlp.replicate_seeds).
    planned = [
        (stage, wiring, params_of(wiring, section))
        for stage, wiring in layout.jobs(section, reads, mlp_seeds=["{seed}"]).items()
    ]
    seeded = layout.seeded(section, "{seed}")
    planned += [
        (f"{stage}_seed", wiring, params_of(wiring, seeded, " at `{seed}`"))
        for stage, wiring in layout.seed_jobs(section, "{seed}").items()
    ]
    for stage, wiring, params in planned:
        lines.append(
            f"| `{stage}` | {listed(wiring['input'], False)} | "
            f"{listed(wiring['output'], True)} | {params or 'none'} |"
        )
    return "\n".join(lines)


def blocks() -> dict[str, str]:
    tables = {f"files:{name}": markdown_table(layout) for name, layout in layouts().items()}
    return tables | {"stages:defences": defences_stages()} | paper_tables()


def documents() -> list[Path]:
    found = []
    for name in DOCUMENTS:
        path = ROOT / name
        found += sorted(path.rglob("*.md")) if path.is_dir() else [path]
    return [path for path in found if "reference" not in path.parts]


def render(text: str, tables: dict[str, str], source: Path) -> str:
    def replace(match: re.Match) -> str:
        name = match.group("name")
        if name not in tables:
            raise SystemExit(
                f"{source}: block '{name}' names no layout or table ({', '.join(tables)})"
            )
        return match.group(1) + tables[name] + "\n" + match.group(4)

    return BLOCK.sub(replace, text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", action="store_true")
    action.add_argument("--check", action="store_true")
    arguments = parser.parse_args(argv)
    tables, stale = blocks(), []
    for path in documents():
        text = path.read_text()
        updated = render(text, tables, path)
        if updated != text:
            stale.append(path)
            if arguments.write:
                path.write_text(updated)
    if arguments.check and stale:
        print(
            "generated tables differ from the layouts or the paper reference in: "
            + ", ".join(map(str, stale))
        )
        print("run: python tools/docs_tables.py --write")
        return 1
    if arguments.write:
        print(f"rewrote {len(stale)} file(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

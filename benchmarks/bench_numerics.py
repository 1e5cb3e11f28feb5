"""How TensorFlow's kernel caps, oneDNN and thread counts move the key numbers (README,
"Reproducibility": how the settings were found).

    python benchmarks/bench_numerics.py                   # every variant, printed
    python benchmarks/bench_numerics.py --record          # and kept: docs/reference/numerics/
    python benchmarks/bench_numerics.py --variants avx512,onednn_off

Each variant runs the default configuration's key targets (the MLP, the collision paper's
case and the macro case: `KEY_TARGETS` of the collisions study's readme module) with
`snakemake --cores 2` in a fresh folder beside nothing but a copy of MNIST, with the
variant's environment, settings and threads, and prints the MLP's test accuracy and the two
cases' mean corner distances. `--record` keeps them, with the numerics fingerprint of the
machine (`fooled.core.fingerprint`), in docs/reference/numerics/variants.json, from which
`tools/readme_tables.py` writes the README's block `numerics_variants`. Results, not
timings: a run on another processor model may well differ, which is the point of the table.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

from fooled.core.fingerprint import numerics_fingerprint  # noqa: E402
from fooled.studies.collisions import readme as collisions_readme  # noqa: E402

RECORD = ROOT / "docs" / "reference" / "numerics" / "variants.json"
# The package's own settings (src/fooled/__init__.py, the schemas, the rules), then one change
# at a time. `env` is set for the whole run, `config` merged over config/config.yaml,
# `threads` given to Snakemake as --set-threads.
VARIANTS: dict[str, dict] = {
    "package": {
        "what": "the package's settings: oneDNN and XLA capped at AVX2, oneDNN on, the MLP "
        "trained on 1 thread, every attack job on 1 thread",
    },
    "avx512": {
        "what": "no cap: oneDNN and XLA pick the processor's AVX-512 kernels",
        "env": {"ONEDNN_MAX_CPU_ISA": "ALL", "XLA_FLAGS": "--xla_cpu_max_isa=AVX512"},
    },
    "mlp_threads_2": {"what": "the MLP trained on 2 threads", "config": {"threads": 2}},
    "mlp_threads_4": {"what": "the MLP trained on 4 threads", "config": {"threads": 4}},
    "mlp_threads_8": {"what": "the MLP trained on 8 threads", "config": {"threads": 8}},
    "macro_threads_2": {
        "what": "the macro optimisation (XLA) on 2 threads",
        "threads": {"collide_macro": 2},
    },
    "onednn_off": {
        "what": "oneDNN off (TF_ENABLE_ONEDNN_OPTS=0)",
        "env": {"TF_ENABLE_ONEDNN_OPTS": "0"},
    },
    "onednn_off_mlp_threads_2": {
        "what": "oneDNN off, the MLP trained on 2 threads",
        "env": {"TF_ENABLE_ONEDNN_OPTS": "0"},
        "config": {"threads": 2},
    },
    "onednn_off_mlp_threads_4": {
        "what": "oneDNN off, the MLP trained on 4 threads",
        "env": {"TF_ENABLE_ONEDNN_OPTS": "0"},
        "config": {"threads": 4},
    },
}


def _value(document: dict, path: str):
    for key in path.split("."):
        document = document[key]
    return document


def run_variant(name: str, variant: dict, cores: int) -> dict:
    """The key numbers of one variant, from a fresh run of the key targets."""
    from workflow_runner import run_snakemake, runner_environment

    environment = runner_environment() | variant.get("env", {})
    with tempfile.TemporaryDirectory(prefix=f"numerics-{name}-") as folder:
        # Targets first: --configfile and --set-threads take every word after them.
        arguments = ["--cores", str(cores), *collisions_readme.KEY_TARGETS]
        for rule, threads in variant.get("threads", {}).items():
            arguments += ["--set-threads", f"{rule}={threads}"]
        configs = [str(ROOT / "config" / "config.yaml")]
        if variant.get("config"):
            override = Path(folder) / "variant.yaml"
            override.write_text(json.dumps({"models": {"mlp": variant["config"]}}))
            configs.append(str(override))
        started = time.perf_counter()
        run = run_snakemake(
            Path(folder),
            None,
            *arguments,
            "--configfile",
            *configs,
            "--quiet",
            "all",
            env=environment,
            timeout=1800,
        )
        if run.returncode != 0:
            raise SystemExit(f"variant {name}: snakemake failed:\n{run.stderr[-3000:]}")
        summary = collisions_readme.key_summary(folder)
    measures = collisions_readme.NUMERICS_MEASURES
    found = {measure: _value(summary, path) for measure, path in measures.items()}
    print(
        f"{name:26s} MLP {100 * found['mlp_test_accuracy']:.2f}%  paper case corners "
        f"{found['paper_case_corners']:.4f}  macro corners {found['macro_case_corners']:.4f}  "
        f"({time.perf_counter() - started:.0f} s)",
        flush=True,
    )
    return {key: variant.get(key, {}) for key in ("env", "config", "threads")} | {
        "what": variant["what"],
        **found,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--record", action="store_true", help=f"keep them in {RECORD}")
    arguments = parser.parse_args(argv)
    chosen = [name.strip() for name in arguments.variants.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(VARIANTS))
    if unknown:
        raise SystemExit(f"unknown variant(s) {', '.join(unknown)} (known: {', '.join(VARIANTS)})")
    if not os.environ.get("MNIST_MIRROR"):
        print("MNIST_MIRROR is unset: each variant downloads MNIST", file=sys.stderr)
    results = {name: run_variant(name, VARIANTS[name], arguments.cores) for name in chosen}
    if arguments.record:
        RECORD.parent.mkdir(parents=True, exist_ok=True)
        document = {
            "command": "python benchmarks/bench_numerics.py --record",
            "environment": numerics_fingerprint(),
            "variants": results,
        }
        temporary = RECORD.with_name(f".{RECORD.name}.tmp")
        temporary.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
        temporary.replace(RECORD)
        print(f"kept in {RECORD.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()

"""A config file Snakemake cannot read, reported in one line with its file (and line).

Snakemake reads ``--configfile`` files before it reads the Snakefile, and
reports a YAML mistake in them as "Config file is not valid JSON or YAML",
with neither the file nor the line, and a missing one with a 30-line
traceback. This module wraps Snakemake's config-file loader so that either
stops Snakemake with one line, ``Config error: config/x.yaml: not valid YAML,
line 3, column 5: ...; fix the file (...)`` or ``Config error: nope.yaml:
file not found (...)``, as the workflow's own config errors read.

It is installed once per environment as a ``.pth`` file (``make`` does it;
by hand: ``python -m fooled.core.snakemake_errors --install``, or
``fooled-install-hooks``), which puts a
light import hook in every Python process of the environment: it patches
Snakemake's loader when (and only when) Snakemake imports it.
"""

from __future__ import annotations

import argparse
import importlib.abc
import importlib.machinery
import sys
import sysconfig
from pathlib import Path
from typing import Any

TARGET = "snakemake.common.configfile"
PTH_NAME = "fooled-snakemake-errors.pth"
# A .pth line runs at every start of Python in the environment: it must never fail there
# (another checkout's src/ first on PYTHONPATH may lack this module).
PTH_LINE = (
    "import sys; exec('try:\\n import fooled.core.snakemake_errors as h; h.install()"
    "\\nexcept Exception:\\n pass')\n"
)


def problem(path: str | Path) -> str | None:
    """Why Snakemake cannot read config file ``path`` (one line), or None if it can."""
    import yaml

    from fooled.core.config import yaml_error_line

    try:
        with open(path, encoding="utf-8") as handle:
            document = yaml.safe_load(handle)
    except FileNotFoundError:
        return f"{path}: file not found (looked for {Path(path).absolute()})"
    except OSError as error:
        return f"{path}: cannot be read ({error.strerror or error})"
    except yaml.YAMLError as error:
        return yaml_error_line(path, error)
    if not isinstance(document, dict):
        return f"{path}: a config file is a YAML mapping (keys at the top level)"
    return None


def patch(module: Any) -> None:
    """Wrap ``module.load_configfile`` so an unreadable config file stops with one line."""
    if getattr(module, "_fooled_patched", False):
        return
    original = module.load_configfile

    def load_configfile(configpath):
        try:
            return original(configpath)
        except (OSError, module.WorkflowError):
            found = problem(configpath) if isinstance(configpath, str | Path) else None
            if found is None:
                raise
            # Snakemake prints its errors with a traceback; a config mistake needs one line.
            print(f"Config error: {found}", file=sys.stderr)
            raise SystemExit(1) from None

    module.load_configfile = load_configfile
    module._fooled_patched = True


class _Loader(importlib.abc.Loader):
    def __init__(self, loader: importlib.abc.Loader) -> None:
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:
        self._loader.exec_module(module)
        patch(module)


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != TARGET:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _Loader(spec.loader)
        return spec


def install() -> None:
    """Patch Snakemake's loader now if it is imported, else when it is."""
    if TARGET in sys.modules:
        patch(sys.modules[TARGET])
    elif not any(isinstance(finder, _Finder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _Finder())


def install_pth(site_packages: str | None = None) -> Path:
    """Write the ``.pth`` file that calls :func:`install` in every process of this environment."""
    folder = Path(site_packages or sysconfig.get_paths()["purelib"])
    path = folder / PTH_NAME
    path.write_text(PTH_LINE)
    return path


def main_install() -> None:
    print(f"installed {install_pth()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--install", action="store_true", help="write the .pth file")
    arguments = parser.parse_args()
    if arguments.install:
        print(f"installed {install_pth()}")
    else:
        parser.print_help()


if __name__ == "__main__":
    main()

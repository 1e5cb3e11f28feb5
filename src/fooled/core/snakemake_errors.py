"""A YAML error in a config file given to Snakemake, reported with its file, line and remedy.

Snakemake reads ``--configfile`` files before it reads the Snakefile, and
reports any YAML mistake in them as "Config file is not valid JSON or YAML",
with neither the file nor the line. This module wraps Snakemake's loader so
the same failure reads ``config/x.yaml: not valid YAML, line 3, column 5:
...; fix the file (...)``.

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


def patch(module: Any) -> None:
    """Wrap ``module._load_configfile`` so a YAML error names its file, line and remedy."""
    if getattr(module, "_fooled_patched", False):
        return
    original = module._load_configfile

    def load_configfile(configpath_or_obj, filetype="Config"):
        try:
            return original(configpath_or_obj, filetype)
        except module.WorkflowError:
            if not isinstance(configpath_or_obj, str | Path):
                raise
            import yaml

            from fooled.core.config import yaml_error_line

            try:
                with open(configpath_or_obj, encoding="utf-8") as handle:
                    yaml.safe_load(handle)
            except yaml.YAMLError as error:
                raise module.WorkflowError(yaml_error_line(configpath_or_obj, error)) from None
            raise

    module._load_configfile = load_configfile
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

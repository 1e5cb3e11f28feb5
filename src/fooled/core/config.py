"""One configuration loader for every dataset, model and study.

- **Defaults live once**, as ``default:`` keywords in the JSON Schemas under
  ``workflow/schemas/`` (one file per dataset, model and study, joined by
  ``$ref``). :func:`load_config` fills them in, so the code reads settings and
  never invents one; a config file only says where it departs from them.
- **Deep merge everywhere**: Snakemake merges ``--configfile`` files over
  ``config/config.yaml`` key by key, and an experiment merges over its study's
  defaults the same way (:func:`deep_merge`).
- **One experiment-list format**: a YAML list of mappings, each with a unique
  ``name``, an optional ``description``, an optional ``mode`` (for studies
  with several kinds of experiment) and any of the study's default keys to
  override. A study's section names its lists in ``experiment_lists``; a path
  is looked up in the working directory first, then in the workflow's folder
  (:func:`resolve_path`), so ``snakemake --directory .test`` finds its own.
- **One-line errors** that name the file and the key (and the line, for a
  YAML syntax error): a bad config stops the workflow before any job.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urljoin

import jsonschema
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

BASE_URI = "https://fooled.invalid/schemas/"
MAIN_SCHEMA = "config.schema.yaml"
# Study schemas declare their kinds of experiment under this key (a list of modes);
# without it a study has one kind, and its defaults are the section's `defaults`.
MODES_KEY = "x-experiment-modes"


class ConfigError(ValueError):
    """The configuration does not match its schema; the message is one line."""


# ----------------------------------------------------------------------------- YAML


def read_yaml(path: str | Path) -> Any:
    """A YAML file's contents; a syntax error names the file, line and column."""
    try:
        with open(path, encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except FileNotFoundError as error:
        raise ConfigError(f"{path}: file not found") from error
    except yaml.YAMLError as error:
        raise ConfigError(yaml_error_line(path, error)) from error


def yaml_error_line(path: str | Path, error: yaml.YAMLError) -> str:
    """``file: line L, column C: problem (remedy)`` for a YAML syntax error."""
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    context = getattr(error, "context", None)
    detail = f"{problem} ({context})" if context else problem
    return (
        f"{path}: not valid YAML, {where}{' '.join(str(detail).split())}; fix the file "
        "(indent with spaces only, quote values that contain ': ' or start with '[', '{' or '*')"
    )


# ----------------------------------------------------------------------------- merging


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` over ``base``, nested mappings merged key by key (inputs untouched)."""
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def resolve_path(path: str | Path, bases: Sequence[Path]) -> Path:
    """A config-named file: the first base that holds it, else relative to the first base."""
    path = Path(path)
    if path.is_absolute():
        return path
    for base in bases:
        candidate = Path(base) / path
        if candidate.is_file():
            return candidate
    return Path(bases[0]) / path


# ----------------------------------------------------------------------------- schemas


def _location(path: Iterable[Any]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "<top level>"


def _one_line(error: jsonschema.ValidationError, source: str, prefix: Sequence[Any]) -> str:
    location = _location([*prefix, *error.absolute_path])
    if error.validator in ("additionalProperties", "unevaluatedProperties"):
        allowed = set(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - allowed) if isinstance(error.instance, dict) else []
        at = f"{location}." if location != "<top level>" else ""
        keys = ", ".join(f"{at}{key}" for key in unknown) or location
        hint = f" (allowed: {', '.join(sorted(allowed))})" if allowed else ""
        return f"{source}: unknown key {keys}{hint}"
    return f"{source}: {location}: {' '.join(error.message.split())}"


class Schemas:
    """Every schema file under one folder, ``$ref`` between them resolved.

    Files are named by their path relative to the folder
    (``studies/collisions_mnist.schema.yaml``); a ``$ref`` is relative to the
    file it is written in, with an optional JSON-pointer fragment.
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self._documents: dict[str, dict[str, Any]] = {}
        for path in sorted(self.folder.rglob("*.schema.yaml")):
            name = path.relative_to(self.folder).as_posix()
            document = read_yaml(path)
            document.setdefault("$id", BASE_URI + name)
            self._documents[name] = document
        if MAIN_SCHEMA not in self._documents:
            raise ConfigError(f"{self.folder}: no {MAIN_SCHEMA}")
        self.registry = Registry().with_resources(
            (BASE_URI + name, Resource.from_contents(doc, default_specification=DRAFT202012))
            for name, doc in self._documents.items()
        )

    def names(self) -> list[str]:
        return list(self._documents)

    def document(self, name: str) -> dict[str, Any]:
        return self._documents[name]

    def resolve(self, ref: str, base: str) -> tuple[dict[str, Any], str]:
        """The schema a ``$ref`` points at, and the URI its own refs are relative to."""
        uri, fragment = urldefrag(urljoin(base, ref))
        name = uri[len(BASE_URI) :]
        if name not in self._documents:
            raise ConfigError(f"schema {base}: $ref {ref!r} names no schema file")
        node: Any = self._documents[name]
        for part in [p for p in fragment.split("/") if p]:
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node, uri

    def at(self, name: str, pointer: Sequence[str] = ()) -> tuple[dict[str, Any], str]:
        """The subschema for the config keys ``pointer`` below the schema file ``name``."""
        schema, base = self._documents[name], BASE_URI + name
        for key in pointer:
            schema, base = self._deref(schema, base)
            schema = schema.get("properties", {}).get(key)
            if schema is None:
                raise ConfigError(f"schema {name}: no key {'.'.join(pointer)}")
        return self._deref(schema, base)

    def _deref(self, schema: dict[str, Any], base: str) -> tuple[dict[str, Any], str]:
        while "$ref" in schema:
            base = schema.get("$id", base)
            schema, base = self.resolve(schema["$ref"], base)
        return schema, schema.get("$id", base)

    def validator(self, schema: Mapping[str, Any], base: str) -> jsonschema.Validator:
        """A validator for a schema document, or for ``{"$ref": ...}`` relative to ``base``."""
        if "$id" in schema:
            return jsonschema.Draft202012Validator(schema, registry=self.registry)
        if set(schema) == {"$ref"}:
            absolute = {"$ref": urljoin(base, schema["$ref"])}
            return jsonschema.Draft202012Validator(absolute, registry=self.registry)
        raise TypeError("validate against a schema document or a {'$ref': ...} into one")

    def validate(
        self,
        document: Any,
        schema: Mapping[str, Any],
        base: str,
        source: str,
        prefix: Sequence[Any] = (),
    ) -> None:
        """Raise ConfigError naming the first (most relevant) violation."""
        errors = self.validator(schema, base).iter_errors(document)
        error = jsonschema.exceptions.best_match(errors)
        if error is not None:
            raise ConfigError(_one_line(error, source, prefix))

    def fill_defaults(self, document: Any, schema: Mapping[str, Any], base: str) -> Any:
        """``document`` with every ``default`` of ``schema`` filled in where a key is missing.

        Objects the document leaves out are created when their schema has
        properties, so nested defaults reach every level.
        """
        schema, base = self._deref(dict(schema), base)
        for part in schema.get("allOf", []):
            document = self.fill_defaults(document, part, base)
        if isinstance(document, dict):
            document = dict(document)
            for key, subschema in schema.get("properties", {}).items():
                resolved, sub_base = self._deref(subschema, base)
                default = subschema.get("default", resolved.get("default"))
                has_default = "default" in subschema or "default" in resolved
                if key not in document:
                    if has_default:
                        document[key] = copy.deepcopy(default)
                    elif "properties" in resolved:
                        document[key] = {}
                    else:
                        continue
                elif isinstance(default, dict) and isinstance(document[key], dict):
                    # An object's default is the base the given keys merge over.
                    document[key] = deep_merge(default, document[key])
                document[key] = self.fill_defaults(document[key], resolved, sub_base)
        elif isinstance(document, list) and isinstance(schema.get("items"), dict):
            document = [self.fill_defaults(item, schema["items"], base) for item in document]
        return document

    def defaults(self, name: str, pointer: Sequence[str] = ()) -> Any:
        """The defaults below ``pointer`` of schema file ``name`` (tests, benchmarks, tools)."""
        if not pointer:
            schema, base = self.at(name)
            return self.fill_defaults({}, schema, base)
        parent, parent_base = self.at(name, pointer[:-1])
        subschema = parent.get("properties", {}).get(pointer[-1])
        if subschema is None:
            raise ConfigError(f"schema {name}: no key {'.'.join(pointer)}")
        document = self.fill_defaults({}, {"properties": {pointer[-1]: subschema}}, parent_base)
        return document.get(pointer[-1])


@functools.cache
def project_schemas(folder: str | None = None) -> Schemas:
    """The workflow's schemas (``workflow/schemas`` of this checkout unless ``folder``)."""
    if folder is None:
        folder = str(Path(__file__).resolve().parents[3] / "workflow" / "schemas")
    return Schemas(folder)


def section_settings(name: str, section: Mapping[str, Any] | None, source: str) -> dict:
    """A config section as the workflow loads it: defaults filled in, then validated.

    For benchmarks and tests that use one section outside the workflow (``name``: the
    section's schema file, e.g. ``datasets/imagenet.schema.yaml``).
    """
    schemas = project_schemas()
    schema, base = schemas.at(name)
    settings = schemas.fill_defaults(dict(section or {}), schema, base)
    schemas.validate(settings, schema, base, source)
    return settings


def schema_defaults(name: str, *pointer: str) -> Any:
    """Defaults of the project's schema ``name`` below ``pointer`` (tests, benchmarks, tools)."""
    return project_schemas().defaults(name, pointer)


# ----------------------------------------------------------------------------- experiments


# A study's check: (merged experiment, where, the complete config) -> None or ConfigError.
Check = Callable[[Mapping[str, Any], str, Mapping[str, Any]], None]


def study_modes(study_schema: Mapping[str, Any]) -> list[str] | None:
    modes = study_schema.get(MODES_KEY)
    return list(modes) if modes else None


def load_experiments(
    study: str,
    section: Mapping[str, Any],
    schemas: Schemas,
    bases: Sequence[Path],
    check: Check | None = None,
    config: Mapping[str, Any] | None = None,
) -> dict[str, dict[str, Any]]:
    """A study's experiments: every list read, validated, merged over the study's defaults.

    Each entry is validated against ``$defs/<mode>_experiment`` (one kind:
    ``$defs/experiment``) of the study's schema; ``check`` (the study's own
    cross-key checks) then sees every merged experiment.
    """
    name = f"studies/{study}.schema.yaml"
    schema, base = schemas.at(name)
    modes = study_modes(schema)
    experiments: dict[str, dict[str, Any]] = {}
    for list_path in section.get("experiment_lists", []):
        path = resolve_path(list_path, bases)
        entries = read_yaml(path)
        if entries is None:
            entries = []
        if not isinstance(entries, list):
            raise ConfigError(f"{list_path}: an experiment list is a YAML list of mappings")
        for position, entry in enumerate(entries):
            if not isinstance(entry, dict):
                raise ConfigError(f"{list_path}: [{position}]: an experiment is a mapping")
            mode = entry.get("mode", modes[0]) if modes else None
            if modes and mode not in modes:
                raise ConfigError(
                    f"{list_path}: [{position}].mode: {mode!r} is not one of {', '.join(modes)}"
                )
            entry_schema = f"#/$defs/{mode}_experiment" if modes else "#/$defs/experiment"
            schemas.validate(entry, {"$ref": entry_schema}, base, str(list_path), prefix=[position])
            experiment = entry["name"]
            if experiment in experiments:
                raise ConfigError(f"{list_path}: experiment name '{experiment}' is used twice")
            defaults = section["defaults"][mode] if modes else section["defaults"]
            merged = deep_merge(defaults, entry)
            if modes:
                merged["mode"] = mode
            if check is not None:
                check(merged, f"{list_path}: {experiment}", config or {})
            experiments[experiment] = merged
    return experiments


# ----------------------------------------------------------------------------- the workflow


def load_config(
    config: Mapping[str, Any],
    schemas: Schemas,
    bases: Sequence[Path],
    checks: Mapping[str, Check] | None = None,
) -> tuple[dict[str, Any], dict[str, dict[str, dict[str, Any]]]]:
    """Validate the whole config with its defaults filled in; read every study's experiments.

    Returns the complete config and ``{study: {experiment: settings}}``.
    """
    checks = checks or {}
    main, base = schemas.at(MAIN_SCHEMA)
    complete = schemas.fill_defaults(dict(config), main, base)
    schemas.validate(complete, main, base, "config")
    experiments = {}
    for study, section in complete.get("studies", {}).items():
        experiments[study] = load_experiments(
            study, section, schemas, bases, checks.get(study), complete
        )
        if section.get("enabled") and "experiment_lists" in section and not experiments[study]:
            raise ConfigError(f"config: studies.{study}: experiment_lists name no experiment")
    return complete, experiments

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
- **One-line errors** of one form, ``<file>: <key path>: <problem> (allowed:
  ...)``: the file is the one that set the key (:class:`ConfigSources`: the
  config file, the last ``--configfile`` that set it, ``--config``, or the
  schema that holds its default), or the experiment list. A YAML syntax error
  names the file, line and column. Each study's checks across keys and
  across studies (:class:`LoadedConfig`) run once everything is loaded, so a
  bad config stops the workflow before any job.
"""

from __future__ import annotations

import copy
import functools
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
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
    """The configuration does not match its schema or its cross-references; one line."""


def _allowed(allowed: str | Iterable[Any] | None) -> str:
    if allowed is None:
        return ""
    if not isinstance(allowed, str):
        allowed = ", ".join(str(value) for value in allowed) or "none"
    return f" (allowed: {allowed})"


def config_error(
    source: str, key: Sequence[Any], problem: str, allowed: str | Iterable[Any] | None = None
) -> ConfigError:
    """``<source>: <key path>: <problem> (allowed: ...)``: the one form of a config error."""
    return ConfigError(f"{source}: {_location(key)}: {problem}{_allowed(allowed)}")


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


# Names a file for a config key path: a fixed label, or the file that set the key.
Source = str | Callable[[Sequence[Any]], str]


def _source_of(source: Source, key: Sequence[Any]) -> str:
    return source if isinstance(source, str) else source(key)


class Schemas:
    """Every schema file under one folder, ``$ref`` between them resolved.

    Files are named by their path relative to the folder
    (``studies/collisions_mnist.schema.yaml``); a ``$ref`` is relative to the
    file it is written in, with an optional JSON-pointer fragment.

    The main schema's ``studies`` section lists no study itself: ``studies`` (the study
    registry's names, in its order; by default every ``studies/<name>.schema.yaml``) fill
    it in, each ``studies.<name>`` validated by ``studies/<name>.schema.yaml``.
    """

    def __init__(self, folder: str | Path, studies: Sequence[str] | None = None) -> None:
        self.folder = Path(folder)
        self._documents: dict[str, dict[str, Any]] = {}
        for path in sorted(self.folder.rglob("*.schema.yaml")):
            name = path.relative_to(self.folder).as_posix()
            document = read_yaml(path)
            document.setdefault("$id", BASE_URI + name)
            self._documents[name] = document
        if MAIN_SCHEMA not in self._documents:
            raise ConfigError(f"{self.folder}: no {MAIN_SCHEMA}")
        if studies is None:
            studies = [
                name.removeprefix("studies/").removesuffix(".schema.yaml")
                for name in self._documents
                if name.startswith("studies/")
            ]
        section = self._documents[MAIN_SCHEMA]["properties"]["studies"]
        for study in studies:
            if f"studies/{study}.schema.yaml" not in self._documents:
                raise ConfigError(
                    f"{self.folder}: study '{study}' has no studies/{study}.schema.yaml"
                )
        section["properties"] = {
            study: {"$ref": f"studies/{study}.schema.yaml"} for study in studies
        }
        # Which file each schema node is in (an error's schema is one of these nodes).
        self._node_files: dict[int, str] = {}
        for name, document in self._documents.items():
            self._index_nodes(document, name)
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
        source: Source,
        prefix: Sequence[Any] = (),
    ) -> None:
        """Raise ConfigError naming the first (most relevant) violation.

        ``source`` names the file: a label, or a function of the key path (the
        file that set that key).
        """
        errors = self.validator(schema, base).iter_errors(document)
        error = jsonschema.exceptions.best_match(errors)
        if error is not None:
            raise self._one_line(error, source, prefix)

    def _one_line(
        self, error: jsonschema.ValidationError, source: Source, prefix: Sequence[Any]
    ) -> ConfigError:
        path = [*prefix, *error.absolute_path]
        unknown_keys = error.validator in ("additionalProperties", "unevaluatedProperties")
        if unknown_keys and isinstance(error.instance, dict):
            allowed = sorted(self._allowed_keys(error.schema))
            unknown = sorted(set(error.instance) - set(allowed))
            if len(unknown) == 1:
                key = [*path, unknown[0]]
                return config_error(_source_of(source, key), key, "unknown key", allowed)
            problem = f"unknown keys {', '.join(unknown)}"
            return config_error(_source_of(source, [*path, *unknown[:1]]), path, problem, allowed)
        return config_error(_source_of(source, path), path, " ".join(error.message.split()))

    def _allowed_keys(self, schema: Mapping[str, Any]) -> set[str]:
        """The keys an object schema (one of the files' own nodes) lets an object have.

        Its own properties, and (for ``unevaluatedProperties``) those of the
        schemas it refers to or combines with ``allOf``/``anyOf``/``oneOf``.
        """
        name = self._node_files.get(id(schema))
        return self._keys(schema, BASE_URI + name if name else BASE_URI, set())

    def _index_nodes(self, node: Any, name: str) -> None:
        if isinstance(node, dict):
            self._node_files[id(node)] = name
            nodes = node.values()
        elif isinstance(node, list):
            nodes = node
        else:
            return
        for child in nodes:
            self._index_nodes(child, name)

    def _keys(self, schema: Mapping[str, Any], base: str, seen: set[int]) -> set[str]:
        if id(schema) in seen:
            return set()
        seen.add(id(schema))
        base = schema.get("$id", base)
        keys = set(schema.get("properties", {}))
        if "$ref" in schema:
            target, target_base = self.resolve(schema["$ref"], base)
            keys |= self._keys(target, target_base, seen)
        for keyword in ("allOf", "anyOf", "oneOf"):
            for part in schema.get(keyword, []):
                keys |= self._keys(part, base, seen)
        return keys

    def default_file(self, key: Sequence[Any]) -> str:
        """The schema file (relative to the folder) whose ``default`` applies to config ``key``."""
        schema, base = self.at(MAIN_SCHEMA)
        found = MAIN_SCHEMA
        for part in key:
            subschema = schema.get("properties", {}).get(part) if isinstance(part, str) else None
            if subschema is None:
                break
            if "default" in subschema:
                found = base[len(BASE_URI) :]
            schema, base = self._deref(subschema, base)
            if "default" in schema and "default" not in subschema:
                found = base[len(BASE_URI) :]
        return found

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


def section_settings(
    name: str,
    section: Mapping[str, Any] | None,
    source: str,
    prefix: Sequence[str] | None = None,
) -> dict:
    """A config section as the workflow loads it: defaults filled in, then validated.

    For benchmarks and tests that use one section outside the workflow (``name``: the
    section's schema file, e.g. ``datasets/imagenet.schema.yaml``; ``prefix``: its keys'
    place in the config, which errors name, e.g. ``["studies", "defences"]``).
    """
    schemas = project_schemas()
    schema, base = schemas.at(name)
    settings = schemas.fill_defaults(dict(section or {}), schema, base)
    if prefix is None:
        schemas.validate(settings, schema, base, source)
    else:
        schemas.validate(settings, schema, base, source, prefix=list(prefix))
    return settings


def schema_defaults(name: str, *pointer: str) -> Any:
    """Defaults of the project's schema ``name`` below ``pointer`` (tests, benchmarks, tools)."""
    return project_schemas().defaults(name, pointer)


# ----------------------------------------------------------------------------- sources


def _sets(document: Any, key: Sequence[Any]) -> bool:
    """Whether ``document``, merged over the others, decides the value at ``key``.

    Mappings merge key by key; any other value (a list, a number) replaces what
    was below it, so a document that sets ``a.b: [1, 2]`` decides ``a.b[0]`` too.
    """
    node = document
    for part in key:
        if not isinstance(node, Mapping):
            return True
        if part not in node:
            return False
        node = node[part]
    return True


def _label(path: str | Path) -> str:
    """A config file as a person names it: relative to the working directory when inside it."""
    absolute = Path(path).absolute()
    try:
        return str(absolute.relative_to(Path.cwd()))
    except ValueError:
        return str(absolute)


class ConfigSources:
    """The documents merged into the config, lowest precedence first, each with its label.

    Snakemake merges the workflow's ``configfile:`` (``config/config.yaml``),
    then every ``--configfile`` in order, then ``--config key=value``; the
    schemas' defaults lie below all of them. :meth:`file_of` names the one
    that decided a key's value, so an error can say which file to fix.
    """

    def __init__(self, documents: Sequence[tuple[str, Any]], schemas: Schemas) -> None:
        self.documents = [(label, document or {}) for label, document in documents]
        self.schemas = schemas

    @classmethod
    def from_workflow(cls, workflow: Any, schemas: Schemas) -> ConfigSources:
        """The sources of a running Snakemake workflow's ``config`` (read again from disk)."""
        settings = workflow.config_settings
        given = [Path(path).absolute() for path in settings.configfiles]
        documents = []
        if not settings.replace_workflow_config:
            for path in workflow.configfiles:  # the Snakefile's configfile: directives
                if Path(path).absolute() not in given and os.path.exists(path):
                    documents.append((str(path), read_yaml(path)))
        documents += [(_label(path), read_yaml(path)) for path in given]
        if settings.config:
            documents.append(("--config", dict(settings.config)))
        return cls(documents, schemas)

    def file_of(self, key: Sequence[Any]) -> str:
        """The label of the document that set ``key`` last, else the schema holding its default."""
        for label, document in reversed(self.documents):
            if _sets(document, key):
                return label
        folder = self.schemas.folder
        return f"{folder.parent.name}/{folder.name}/{self.schemas.default_file(key)} (default)"

    def error(
        self, key: Sequence[Any], problem: str, allowed: str | Iterable[Any] | None = None
    ) -> ConfigError:
        """A ConfigError about config ``key``, naming the file that set it."""
        return config_error(self.file_of(key), key, problem, allowed)

    def name_file(self, error: ConfigError) -> ConfigError:
        """``config: <key> ...`` (a check that knows the key, not the file) with the file named."""
        match = _UNNAMED.match(str(error))
        if match is None:
            return error
        key = [int(part) if part.isdigit() else part for part in _KEY_PART.findall(match[1])]
        return ConfigError(f"{self.file_of(key)}{str(error)[len('config') :]}")


# ``config: studies.x.y[2] ...``: a key of the merged config, the file not yet named.
_UNNAMED = re.compile(r"config: ([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\])*)")
_KEY_PART = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d+")


# ----------------------------------------------------------------------------- experiments


@dataclass(frozen=True)
class Origin:
    """Where an experiment was written, for errors about its keys.

    Its list, its position there, the entry as written, and the config key of
    the defaults it merges over (``studies.<study>.defaults[.<mode>]``).
    """

    list_path: str
    position: int
    entry: Mapping[str, Any]
    defaults: tuple[str, ...]


def study_modes(study_schema: Mapping[str, Any]) -> list[str] | None:
    modes = study_schema.get(MODES_KEY)
    return list(modes) if modes else None


def load_experiments(
    study: str,
    section: Mapping[str, Any],
    schemas: Schemas,
    bases: Sequence[Path],
    origins: dict[str, Origin] | None = None,
    source: Source = "config",
) -> dict[str, dict[str, Any]]:
    """A study's experiments: every list read, validated, merged over the study's defaults.

    Each entry is validated against ``$defs/<mode>_experiment`` (one kind:
    ``$defs/experiment``) of the study's schema. ``origins`` (when given)
    receives where each experiment was written; ``source`` names the file that
    set ``experiment_lists`` (for a list that does not exist).
    """
    name = f"studies/{study}.schema.yaml"
    schema, base = schemas.at(name)
    modes = study_modes(schema)
    experiments: dict[str, dict[str, Any]] = {}
    for index, list_path in enumerate(section.get("experiment_lists", [])):
        path = resolve_path(list_path, bases)
        if not path.is_file():
            key = ("studies", study, "experiment_lists", index)
            folders = ", ".join(str(Path(folder)) for folder in bases)
            raise config_error(
                _source_of(source, key), key, f"{list_path}: file not found (looked in {folders})"
            )
        entries = read_yaml(path)
        if entries is None:
            entries = []
        if not isinstance(entries, list):
            raise config_error(list_path, [], "an experiment list is a YAML list of mappings")
        for position, entry in enumerate(entries):
            if not isinstance(entry, dict):
                raise config_error(list_path, [position], "an experiment is a mapping")
            mode = entry.get("mode", modes[0]) if modes else None
            if modes and mode not in modes:
                problem = f"{mode!r} is no mode of {study}"
                raise config_error(list_path, [position, "mode"], problem, modes)
            entry_schema = f"#/$defs/{mode}_experiment" if modes else "#/$defs/experiment"
            schemas.validate(entry, {"$ref": entry_schema}, base, str(list_path), prefix=[position])
            experiment = entry["name"]
            if experiment in experiments:
                raise config_error(
                    list_path, [position, "name"], f"experiment name '{experiment}' is used twice"
                )
            defaults = section["defaults"][mode] if modes else section["defaults"]
            merged = deep_merge(defaults, entry)
            if modes:
                merged["mode"] = mode
            experiments[experiment] = merged
            if origins is not None:
                defaults_key = ("studies", study, "defaults", *([mode] if modes else []))
                origins[experiment] = Origin(str(list_path), position, entry, defaults_key)
    return experiments


# ----------------------------------------------------------------------------- the workflow


def missing_file(path: str) -> str | None:
    """Why a file a config names is not there (``~`` and ``$VARIABLES`` expanded), or None."""
    expanded = os.path.expandvars(os.path.expanduser(path))
    if os.path.isfile(expanded):
        return None
    return f"file {expanded if expanded == path else f'{expanded} (from {path})'} not found"


@dataclass
class LoadedConfig:
    """The complete config and every study's experiments, as the checks across keys see them.

    Its errors name the file to fix: the one that set a config key
    (:class:`ConfigSources`), or for an experiment's key the list that sets it
    (else the file that set the study's defaults).
    """

    config: dict[str, Any]
    experiments: dict[str, dict[str, dict[str, Any]]]
    origins: dict[str, dict[str, Origin]]
    sources: ConfigSources

    def section(self, study: str) -> dict[str, Any]:
        return self.config["studies"][study]

    def in_run(self, study: str) -> bool:
        """Enabled, or with experiments (its target then runs them): its settings must hold."""
        return bool(self.section(study)["enabled"] or self.experiments.get(study))

    def error(
        self, key: Sequence[Any], problem: str, allowed: str | Iterable[Any] | None = None
    ) -> ConfigError:
        return self.sources.error(key, problem, allowed)

    def experiment_error(
        self,
        study: str,
        name: str,
        key: Sequence[Any],
        problem: str,
        allowed: str | Iterable[Any] | None = None,
    ) -> ConfigError:
        """An error about key ``key`` of experiment ``name``: its list's, or its defaults'."""
        origin = self.origins[study][name]
        if key and _sets(origin.entry, key):
            return config_error(origin.list_path, [origin.position, *key], problem, allowed)
        return self.error([*origin.defaults, *key], problem, allowed)

    def check_name(self, key: Sequence[Any], name: Any, allowed: Iterable[Any], what: str) -> None:
        """The value at ``key`` is one of ``allowed`` (``what``: what it should be)."""
        allowed = list(allowed)
        if name not in allowed:
            raise self.error(key, f"{name!r} is not {what}", allowed)

    def check_names(
        self, key: Sequence[Any], names: Iterable[Any], allowed: Iterable[Any], what: str
    ) -> None:
        """Each value of the list at ``key`` is one of ``allowed``."""
        allowed = list(allowed)
        for index, name in enumerate(names):
            self.check_name([*key, index], name, allowed, what)

    def check_file(self, key: Sequence[Any], path: str) -> None:
        """The file a config key names exists (``~`` and environment variables expanded)."""
        problem = missing_file(path)
        if problem:
            raise self.error(key, problem)

    def run(self, check: Callable[[LoadedConfig], None]) -> None:
        try:
            check(self)
        except ConfigError as error:
            raise self.sources.name_file(error) from error


# A check across keys (of one study, or of shared sections): raises ConfigError.
Check = Callable[[LoadedConfig], None]

# What a models.imagenet `weights` may be besides a path to a weights file.
IMAGENET_WEIGHTS = ("imagenet", "random", "file")


def check_models(loaded: LoadedConfig) -> None:
    """``models.imagenet``: a model file that exists for architecture ``file`` (and only then
    its own weights), and a weights file that exists when ``weights`` is a path."""
    key = ("models", "imagenet")
    model = loaded.config["models"]["imagenet"]
    if model["architecture"] == "file":
        if not model["file"]:
            raise loaded.error((*key, "file"), "architecture 'file' needs a Keras model file")
        loaded.check_file((*key, "file"), model["file"])
    elif model["weights"] == "file":
        problem = "'file', a model file's own weights, needs architecture 'file'"
        raise loaded.error((*key, "weights"), problem, [*IMAGENET_WEIGHTS[:2], "a weights file"])
    if model["weights"] not in IMAGENET_WEIGHTS:
        loaded.check_file((*key, "weights"), model["weights"])


def not_ingested(dataset: Mapping[str, Any], synset: str) -> str | None:
    """Why an ImageNet class is not in the patch database's images (``datasets.imagenet``)."""
    if dataset["classes"] == "all" or synset in dataset["classes"]:
        return None
    return f"{synset} is not among datasets.imagenet.classes (the ingested ones)"


def check_imagenet_seeds(loaded: LoadedConfig) -> None:
    """``datasets.imagenet.seeds``: a file that exists, or a class among those ingested."""
    dataset = loaded.config["datasets"]["imagenet"]
    for index, seed in enumerate(dataset["seeds"]):
        key = ("datasets", "imagenet", "seeds", index)
        if "path" in seed:
            loaded.check_file((*key, "path"), seed["path"])
        elif problem := not_ingested(dataset, seed["synset"]):
            raise loaded.error((*key, "synset"), problem, dataset["classes"])


# Checks of the shared sections that every load runs (the workflow adds the datasets' own).
SHARED_CHECKS: tuple[Check, ...] = (check_models, check_imagenet_seeds)


def load_config(
    config: Mapping[str, Any],
    schemas: Schemas,
    bases: Sequence[Path],
    checks: Mapping[str, Check] | None = None,
    sources: ConfigSources | None = None,
    shared_checks: Sequence[Check] = (),
) -> tuple[dict[str, Any], dict[str, dict[str, dict[str, Any]]]]:
    """Validate the whole config with its defaults filled in; read every study's experiments.

    Then run :data:`SHARED_CHECKS` and ``shared_checks``, and ``checks[study]``
    for each study in the run (:meth:`LoadedConfig.in_run`). ``sources``: the
    files the config was merged from (default: one document labelled
    ``config``). Returns the complete config and ``{study: {experiment: settings}}``.
    """
    sources = sources or ConfigSources([("config", config)], schemas)
    main, base = schemas.at(MAIN_SCHEMA)
    complete = schemas.fill_defaults(dict(config), main, base)
    schemas.validate(complete, main, base, sources.file_of)
    experiments, origins = {}, {}
    for study, section in complete.get("studies", {}).items():
        origins[study] = {}
        experiments[study] = load_experiments(
            study, section, schemas, bases, origins[study], sources.file_of
        )
        if section.get("enabled") and "experiment_lists" in section and not experiments[study]:
            raise sources.error(
                ("studies", study, "experiment_lists"),
                "names no experiment, but the study is enabled: name a list or disable it",
            )
    loaded = LoadedConfig(complete, experiments, origins, sources)
    for check in (*SHARED_CHECKS, *shared_checks):
        loaded.run(check)
    for study, check in (checks or {}).items():
        if loaded.in_run(study):
            loaded.run(check)
    return complete, experiments

"""ImageNet ingest: settings, a seeded per-class sample, safe archives, 256x256 image shards.

The patch database of the paper's macro-level experiments is built from 10% of
each ImageNet training class, resized to 256x256 (SPEC section 3). This module
turns a root (a folder in ImageNet's training layout, ``<synset>/<file>.JPEG``,
or the official training archive, a tar of per-class tars) into a *manifest*
(which files, which shard) and then into independent *image shards*, so the
decoding spreads over cores here and over nodes on a cluster. The shards are
the only copy of the pixels: patches are cut from them on demand
(:mod:`fooled.patches`), never stored.

Failures name their cause in one line: a class missing from the root, an
archive member that would escape the extraction folder, a truncated shard.
A JPEG that does not decode is skipped and *counted* in its shard.
"""

from __future__ import annotations

import copy
import io
import logging
import os
import shutil
import tarfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import h5py
import numpy as np

from fooled.core import h5io
from fooled.core.config import ConfigError, section_settings

LOGGER = logging.getLogger(__name__)
ROOT_ENVIRONMENT_VARIABLE = "IMAGENET_ROOT"
IMAGE_SUFFIXES = (".jpeg", ".jpg")


class IngestError(ValueError):
    """The ImageNet root, a class or an archive member is not what the config asks for."""


class UnsafeArchiveError(IngestError):
    """An archive member would write outside the extraction folder, or is a link or device."""


def load_settings(section: Mapping[str, Any] | None) -> dict[str, Any]:
    """``datasets.imagenet`` with its defaults, validated and checked (benchmarks, tests)."""
    settings = section_settings(
        "datasets/imagenet.schema.yaml", section, "config: datasets.imagenet"
    )
    check_settings(settings)
    return settings


def check_settings(settings: Mapping[str, Any]) -> None:
    """Checks across keys of ``datasets.imagenet`` that its schema cannot express."""
    names = [seed["name"] for seed in settings["seeds"]]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ConfigError(
            f"config: datasets.imagenet.seeds: name used twice: {', '.join(duplicates)}"
        )
    size, image_size = settings["patches"]["size"], settings["image_size"]
    if size > image_size or size > settings["query"]["seed_size"]:
        raise ConfigError(
            f"config: datasets.imagenet.patches.size {size} exceeds the image size "
            f"({image_size}) or the seed size ({settings['query']['seed_size']})"
        )
    query = settings["query"]
    if (query["grid"] - 1) * query["step"] + size > query["seed_size"]:
        raise ConfigError(
            f"config: datasets.imagenet.query: a {query['grid']}x{query['grid']} grid with step "
            f"{query['step']} and {size}-pixel patches does not fit a {query['seed_size']} seed"
        )


def resolve_root(root: str | None) -> Path:
    """The configured root, else ``$IMAGENET_ROOT``; environment variables in it are expanded."""
    text = root if root else os.environ.get(ROOT_ENVIRONMENT_VARIABLE, "")
    if not text:
        raise IngestError(
            f"imagenet.root is not set and ${ROOT_ENVIRONMENT_VARIABLE} is empty: point "
            "either at an ImageNet training folder (<synset>/<file>.JPEG) or the training tar"
        )
    path = Path(os.path.expandvars(os.path.expanduser(text)))
    if not path.exists():
        raise IngestError(f"ImageNet root {path} does not exist")
    return path


def is_image_name(name: str) -> bool:
    base = PurePosixPath(name).name
    return not base.startswith(".") and base.lower().endswith(IMAGE_SUFFIXES)


def list_folder(root: Path) -> dict[str, list[str]]:
    """Synset -> sorted image file names, for a folder in ImageNet's training layout."""
    classes: dict[str, list[str]] = {}
    for entry in sorted(root.iterdir()):
        if entry.is_dir() and not entry.name.startswith("."):
            files = sorted(p.name for p in entry.iterdir() if p.is_file() and is_image_name(p.name))
            if files:
                classes[entry.name] = files
    if not classes:
        raise IngestError(f"{root}: no <synset>/<file>.JPEG images found")
    return classes


def select_classes(available: Iterable[str], wanted: str | Sequence[str], root: Path) -> list[str]:
    """The classes to ingest; a class the config lists but the root lacks is a named error."""
    available = sorted(available)
    if wanted == "all":
        return available
    missing = sorted(set(wanted) - set(available))
    if missing:
        shown = ", ".join(missing[:10]) + (f" (and {len(missing) - 10} more)" * (len(missing) > 10))
        raise IngestError(f"{root}: class {shown} listed in imagenet.classes is not in the root")
    return sorted(set(wanted))


def class_rng(seed: int, synset: str) -> np.random.Generator:
    """One generator per class, so adding a class never changes another class's sample."""
    digits = int("".join(ch for ch in synset if ch.isdigit()) or "0")
    return np.random.default_rng([seed, digits, len(synset)])


def sample_files(files: Sequence[str], fraction: float, minimum: int, rng) -> list[str]:
    """A seeded sample of ``round(fraction * n)`` files (at least ``minimum``), in name order."""
    count = len(files)
    take = min(count, max(minimum, int(np.floor(fraction * count + 0.5))))
    chosen = np.sort(rng.choice(count, size=take, replace=False))
    return [files[i] for i in chosen]


# --------------------------------------------------------------------------- archives


def check_member(member: tarfile.TarInfo, archive: str) -> None:
    """Refuse a member that could write outside the destination, or that is not plain data."""
    name = member.name
    reason = None
    if name.startswith("/") or PurePosixPath(name).is_absolute() or ":" in name.split("/")[0]:
        reason = "absolute path"
    elif ".." in PurePosixPath(name).parts:
        reason = "path with '..'"
    elif member.issym() or member.islnk():
        reason = f"link to '{member.linkname}'"
    elif member.isdev() or member.isfifo():
        reason = "device or fifo"
    elif not (member.isfile() or member.isdir()):
        reason = "not a regular file"
    if reason:
        raise UnsafeArchiveError(f"{archive}: refused member '{name}' ({reason})")


def _open_tar(path: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(path, "r:*")
    except (tarfile.TarError, OSError) as error:
        raise IngestError(f"{path}: not a readable tar archive ({error})") from error


def extract_archive_sample(
    archive: Path,
    destination: Path,
    wanted: str | Sequence[str],
    fraction: float,
    minimum: int,
    seed: int,
) -> tuple[dict[str, list[str]], dict[str, int], list[str]]:
    """Extract the sampled images of the training archive (a tar of per-class tars).

    Only the sampled members are written, each through tarfile's ``data``
    filter after :func:`check_member`, into a temporary folder that replaces
    ``destination`` when complete. Returns synset -> extracted file names,
    synset -> images the class's tar holds (the manifest's ``n_available``, so
    a folder root and an archive root report the same counts), and every class
    the archive holds (labels are positions in that sorted list).
    """
    temporary = destination.with_name(f".{destination.name}.tmp-{os.getpid()}")
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir(parents=True)
    sampled: dict[str, list[str]] = {}
    available: dict[str, int] = {}
    try:
        with _open_tar(archive) as outer:
            members = outer.getmembers()
            for member in members:
                check_member(member, str(archive))
            class_tars = {
                PurePosixPath(m.name).name[: -len(".tar")]: m
                for m in members
                if m.isfile() and m.name.endswith(".tar")
            }
            if not class_tars:
                raise IngestError(f"{archive}: holds no per-class <synset>.tar members")
            for synset in select_classes(class_tars, wanted, archive):
                label = f"{archive}:{class_tars[synset].name}"
                handle = outer.extractfile(class_tars[synset])
                try:
                    inner = tarfile.open(fileobj=handle, mode="r:*")
                except tarfile.TarError as error:
                    raise IngestError(f"{label}: not a readable tar ({error})") from error
                with inner:
                    inner_members = inner.getmembers()
                    for member in inner_members:
                        check_member(member, label)
                    images = {
                        PurePosixPath(m.name).name: m
                        for m in inner_members
                        if m.isfile() and is_image_name(m.name)
                    }
                    if not images:
                        raise IngestError(f"{label}: holds no JPEG images")
                    chosen = sample_files(
                        sorted(images), fraction, minimum, class_rng(seed, synset)
                    )
                    for name in chosen:
                        member = copy.copy(images[name])
                        member.name = name  # flatten any folder inside the class tar
                        inner.extract(member, temporary / synset, filter="data")
                    sampled[synset] = chosen
                    available[synset] = len(images)
        shutil.rmtree(destination, ignore_errors=True)
        destination.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temporary, destination)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return sampled, available, sorted(class_tars)


# --------------------------------------------------------------------------- manifest


@dataclass(frozen=True)
class Manifest:
    """The sampled images, in ingest order, and the shard each one goes to."""

    root: str
    files: list[str]  # "<synset>/<file>", relative to root
    synsets: list[str]
    labels: np.ndarray  # int64: position of the synset among the root's sorted classes
    shards: np.ndarray  # int64 shard of each image
    n_available: np.ndarray  # int64 images of each class in the root
    classes: list[str]


def build_manifest(settings: Mapping[str, Any], logger: logging.Logger = LOGGER) -> Manifest:
    """Sample the root (extracting an archive first) and split the sample into shards."""
    root = resolve_root(settings["root"])
    fraction, minimum, seed = settings["fraction"], settings["min_per_class"], settings["seed"]
    if root.is_file():
        destination = Path(settings["extract_dir"])
        logger.info(
            "extracting a %.0f%% sample of archive %s into %s", 100 * fraction, root, destination
        )
        sampled, available, all_classes = extract_archive_sample(
            root, destination, settings["classes"], fraction, minimum, seed
        )
        root = destination
    else:
        listing = list_folder(root)
        classes = select_classes(listing, settings["classes"], root)
        sampled = {
            synset: sample_files(listing[synset], fraction, minimum, class_rng(seed, synset))
            for synset in classes
        }
        available = {synset: len(listing[synset]) for synset in classes}
        all_classes = sorted(listing)
    classes = sorted(sampled)
    class_index = {synset: index for index, synset in enumerate(all_classes)}
    files, synsets, labels = [], [], []
    for synset in classes:
        for name in sampled[synset]:
            files.append(f"{synset}/{name}")
            synsets.append(synset)
            labels.append(class_index[synset])
    shards = np.zeros(len(files), np.int64)
    for shard, block in enumerate(np.array_split(np.arange(len(files)), settings["n_shards"])):
        shards[block] = shard
    logger.info(
        "%d images from %d classes in %d shards", len(files), len(classes), settings["n_shards"]
    )
    return Manifest(
        root=str(root.resolve()),
        files=files,
        synsets=synsets,
        labels=np.asarray(labels, np.int64),
        shards=shards,
        n_available=np.asarray([available[s] for s in classes], np.int64),
        classes=classes,
    )


def _strings(values: Sequence[str]) -> np.ndarray:
    return np.asarray([v.encode() for v in values], dtype=h5py.string_dtype("utf-8"))


def write_manifest(path: str | os.PathLike[str], manifest: Manifest, settings: Any) -> None:
    with h5io.atomic_h5(path) as out:
        out.create_dataset("files", data=_strings(manifest.files))
        out.create_dataset("synsets", data=_strings(manifest.synsets))
        out.create_dataset("labels", data=manifest.labels)
        out.create_dataset("shards", data=manifest.shards)
        out.create_dataset("classes", data=_strings(manifest.classes))
        out.create_dataset("n_available", data=manifest.n_available)
        h5io.set_attrs(out, h5io.provenance(settings, seeds={"sample": settings["seed"]}))
        h5io.set_attrs(out, {"root": manifest.root, "n_images": len(manifest.files)})


def _decode(values: np.ndarray) -> list[str]:
    return [v.decode() if isinstance(v, bytes) else str(v) for v in values]


def read_manifest(path: str | os.PathLike[str]) -> Manifest:
    arrays = h5io.read_arrays(
        path, ["files", "synsets", "labels", "shards", "classes", "n_available"]
    )
    return Manifest(
        root=str(h5io.read_attrs(path)["root"]),
        files=_decode(arrays["files"]),
        synsets=_decode(arrays["synsets"]),
        labels=arrays["labels"],
        shards=arrays["shards"],
        n_available=arrays["n_available"],
        classes=_decode(arrays["classes"]),
    )


# --------------------------------------------------------------------------- decoding


def load_rgb(source: str | os.PathLike[str] | bytes, size: int) -> np.ndarray:
    """Decode a JPEG to RGB and resize it to ``size`` x ``size`` (bilinear), as uint8.

    Grey and CMYK JPEGs (ImageNet holds both) become RGB. A file that does not
    decode completely raises :class:`OSError` (truncated data included).
    """
    from PIL import Image, UnidentifiedImageError

    handle = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        with Image.open(handle) as image:
            image.load()
            rgb = image.convert("RGB")
    except (UnidentifiedImageError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise OSError(f"not a decodable image ({error})") from error
    resized = rgb.resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(resized, dtype=np.uint8)


def write_shard(
    path: str | os.PathLike[str],
    manifest: Manifest,
    shard: int,
    settings: Mapping[str, Any],
    logger: logging.Logger = LOGGER,
) -> dict[str, int]:
    """Decode and resize one shard's images; corrupt JPEGs are skipped, logged and counted."""
    size = settings["image_size"]
    members = np.flatnonzero(manifest.shards == shard)
    root = Path(manifest.root)
    kept: list[int] = []
    corrupt: list[str] = []
    reasons: list[str] = []
    with h5io.atomic_h5(path) as out:
        images = out.create_dataset(
            "images",
            shape=(len(members), size, size, 3),
            maxshape=(None, size, size, 3),
            dtype=np.uint8,
            chunks=(1, size, size, 3),
            compression="gzip",
            compression_opts=1,
            shuffle=False,
            fletcher32=True,
        )
        for position in members:
            relative = manifest.files[position]
            try:
                pixels = load_rgb(root / relative, size)
            except OSError as error:
                message = " ".join(str(error).split())
                logger.warning("skipped corrupt image %s: %s", relative, message)
                corrupt.append(relative)
                reasons.append(message)
                continue
            images[len(kept)] = pixels
            kept.append(int(position))
        images.resize(len(kept), axis=0)
        kept_array = np.asarray(kept, np.int64)
        out.create_dataset("manifest_index", data=kept_array)
        out.create_dataset("labels", data=manifest.labels[kept_array])
        out.create_dataset("synsets", data=_strings([manifest.synsets[i] for i in kept]))
        out.create_dataset("files", data=_strings([manifest.files[i] for i in kept]))
        out.create_dataset("corrupt_files", data=_strings(corrupt))
        out.create_dataset("corrupt_reasons", data=_strings(reasons))
        h5io.set_attrs(out, h5io.provenance(dict(settings), seeds={"sample": settings["seed"]}))
        h5io.set_attrs(
            out,
            {
                "shard": shard,
                "n_images": len(kept),
                "n_corrupt": len(corrupt),
                "image_size": size,
                "root": manifest.root,
            },
        )
    logger.info("shard %d: %d images, %d corrupt skipped", shard, len(kept), len(corrupt))
    return {"n_images": len(kept), "n_corrupt": len(corrupt)}


@dataclass
class Shard:
    """One image shard's metadata (pixels are read on demand)."""

    path: str
    n_images: int
    labels: np.ndarray
    files: list[str]
    manifest_index: np.ndarray
    n_corrupt: int


def open_shard(path: str | os.PathLike[str]) -> Shard:
    """Read a shard's metadata, checking that it is complete (a truncated file fails here)."""
    arrays = h5io.read_arrays(path, ["labels", "files", "manifest_index"])
    attrs = h5io.read_attrs(path)
    with h5io.open_artifact(path) as handle:
        if "images" not in handle:
            raise h5io.ArtifactError(f"{path}: dataset 'images' is missing")
        n_images = handle["images"].shape[0]
    expected = attrs.get("n_images")
    if expected is None or not (
        n_images == expected == len(arrays["labels"]) == len(arrays["files"])
    ):
        raise h5io.ArtifactError(
            f"{path}: shard is incomplete ({n_images} images, {len(arrays['labels'])} labels, "
            f"n_images attribute {expected})"
        )
    return Shard(
        path=str(path),
        n_images=int(n_images),
        labels=arrays["labels"],
        files=_decode(arrays["files"]),
        manifest_index=arrays["manifest_index"],
        n_corrupt=int(attrs.get("n_corrupt", 0)),
    )


def read_shard_images(path: str | os.PathLike[str], indices: Sequence[int] | None = None):
    """Pixels of a shard (all, or the given sorted indices); checksummed chunks catch corruption."""
    with h5io.open_artifact(path) as handle:
        try:
            dataset = handle["images"]
            if indices is None:
                return dataset[()]
            indices = np.asarray(indices)
            if indices.size == 0:
                return np.zeros((0, *dataset.shape[1:]), np.uint8)
            unique, inverse = np.unique(indices, return_inverse=True)
            # One chunk (one image) per read: h5py's list selections are far slower.
            return np.stack([dataset[int(i)] for i in unique])[inverse]
        except (OSError, KeyError) as error:
            raise h5io.ArtifactError(
                f"{path}: images unreadable (truncated or corrupt shard?): {error}"
            ) from error


# --------------------------------------------------------------------------- seeds


@dataclass(frozen=True)
class SeedImage:
    """A seed image for query_sources: its file and, if ingested, its manifest position."""

    name: str
    path: Path
    manifest_index: int | None


def resolve_seed(seed: Mapping[str, Any], manifest: Manifest) -> SeedImage:
    """A seed named by ``path`` (environment variables expanded) or by ``synset`` and ``index``.

    ``index`` counts the *ingested* images of the synset in file-name order, so
    the same entry names the same image for a folder root and an archive root.
    """
    root = Path(manifest.root)
    if "path" in seed:
        path = Path(os.path.expandvars(os.path.expanduser(seed["path"])))
        if not path.is_file():
            raise IngestError(f"seed '{seed['name']}': file {path} does not exist")
        resolved = path.resolve()
        position = next(
            (i for i, name in enumerate(manifest.files) if (root / name).resolve() == resolved),
            None,
        )
        return SeedImage(seed["name"], path, position)
    synset, index = seed["synset"], seed["index"]
    positions = [i for i, s in enumerate(manifest.synsets) if s == synset]
    if not positions:
        raise IngestError(f"seed '{seed['name']}': class {synset} was not ingested")
    if index >= len(positions):
        raise IngestError(
            f"seed '{seed['name']}': index {index}, but class {synset} has "
            f"{len(positions)} ingested images"
        )
    position = positions[index]
    return SeedImage(seed["name"], root / manifest.files[position], position)

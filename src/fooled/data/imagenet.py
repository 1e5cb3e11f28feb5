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
Files are told by content, not name: an image in another format than JPEG (a PNG named
.JPEG) or a CMYK JPEG is converted to RGB, and an empty, non-image or corrupt file is skipped;
both are recorded in the shard, summed in the index summary and printed by the job.
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

# Formats are told by content (PIL reads the first bytes: a JPEG starts FF D8 FF), never by the
# file's name. A JPEG in RGB or grey is decoded as it is; any other raster format PIL reads here,
# and CMYK JPEGs, become RGB and are *counted* as converted (ILSVRC-2012's training set holds a
# PNG named .JPEG and CMYK JPEGs). Other content (EPS, PDF, HTML, random bytes) is not an image.
RASTER_FORMATS = ("JPEG", "PNG", "GIF", "BMP", "TIFF", "WEBP")
# Pillow's JPEG reader names a JPEG with a multi-picture extension (cameras write it) MPO.
JPEG_FORMATS = ("JPEG", "MPO")
SKIP_REASONS = ("empty", "not an image", "corrupt", "unsupported pixels")


class UnreadableImage(OSError):
    """A file that yields no image; ``reason`` is one of :data:`SKIP_REASONS`."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class DecodedImage:
    pixels: np.ndarray  # (size, size, 3) uint8
    converted_from: str | None  # None for an RGB or grey JPEG; else "PNG", "CMYK JPEG", ...


def _converted_from(image_format: str, mode: str) -> str | None:
    if image_format not in JPEG_FORMATS:
        return image_format
    return None if mode in ("RGB", "L") else f"{mode} JPEG"


def _to_rgb(image):
    """RGB pixels of any 8-bit mode, and of 16-bit grey scaled to 8 bits (Pillow would clip it)."""
    from PIL import Image

    if image.mode.startswith("I;16"):
        grey = (np.asarray(image).astype(np.uint32) * 255 + 32767) // 65535
        return Image.fromarray(grey.astype(np.uint8)).convert("RGB")
    if image.mode in ("I", "F"):
        raise UnreadableImage(
            "unsupported pixels", f"{image.format} with {image.mode} pixels has no 8-bit range"
        )
    return image.convert("RGB")


def decode_image(source: str | os.PathLike[str] | bytes, size: int) -> DecodedImage:
    """Decode an image by its content to RGB, resized to ``size`` x ``size`` (bilinear), uint8.

    Raises :class:`UnreadableImage` for an empty file, content that is no raster image, or an
    image that does not decode completely (truncated data included). A file that cannot be
    read at all (missing, no permission) raises its own :class:`OSError`.
    """
    from PIL import Image, UnidentifiedImageError

    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    if not data:
        raise UnreadableImage("empty", "0 bytes")
    image_format = "unknown"
    try:
        with Image.open(io.BytesIO(data), formats=RASTER_FORMATS) as image:
            image_format, mode = str(image.format), image.mode
            image.load()
            rgb = _to_rgb(image)
    except UnidentifiedImageError as error:
        raise UnreadableImage(
            "not an image", f"{len(data)} bytes starting {data[:8].hex(' ')}"
        ) from error
    except UnreadableImage:
        raise
    except (OSError, EOFError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        message = " ".join(str(error).split())
        raise UnreadableImage("corrupt", f"{image_format} does not decode ({message})") from error
    resized = rgb.resize((size, size), Image.Resampling.BILINEAR)
    return DecodedImage(np.asarray(resized, dtype=np.uint8), _converted_from(image_format, mode))


def load_rgb(source: str | os.PathLike[str] | bytes, size: int) -> np.ndarray:
    """The pixels of :func:`decode_image` (seed and target images, whatever their format)."""
    return decode_image(source, size).pixels


@dataclass(frozen=True)
class IngestRecord:
    """What the ingest did with its files: how many, which were skipped and which converted."""

    n_files: int
    skipped: list[tuple[str, str, str]]  # (file, reason, detail)
    converted: list[tuple[str, str]]  # (file, converted from)

    @property
    def n_images(self) -> int:
        return self.n_files - len(self.skipped)

    def skipped_counts(self) -> dict[str, int]:
        return _counts(reason for _, reason, _ in self.skipped)

    def converted_counts(self) -> dict[str, int]:
        return _counts(source for _, source in self.converted)

    def describe(self) -> str | None:
        """``2 of 250 files skipped (1 empty, 1 not an image), 1 converted (PNG)``, or None."""
        parts: list[str] = []
        for count, verb, kinds in (
            (len(self.skipped), "skipped", self.skipped_counts()),
            (len(self.converted), "converted", self.converted_counts()),
        ):
            if count:
                of_files = "" if parts else f" of {self.n_files} files"
                parts.append(f"{count}{of_files} {verb} ({_listed(kinds)})")
        return ", ".join(parts) or None

    def summary(self) -> dict[str, Any]:
        """The ``ingest`` entry of the index summary (docs/artifacts.md)."""
        return {
            "n_files": self.n_files,
            "n_images": self.n_images,
            "n_skipped": len(self.skipped),
            "skipped_reasons": self.skipped_counts(),
            "n_converted": len(self.converted),
            "converted_from": self.converted_counts(),
            "skipped": [{"file": f, "reason": r, "detail": d} for f, r, d in self.skipped],
            "converted": [{"file": f, "from": source} for f, source in self.converted],
        }


def _counts(values: Iterable[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _listed(counts: Mapping[str, int]) -> str:
    """``PNG`` for one kind, ``1 empty, 1 not an image`` for several."""
    if len(counts) == 1:
        return next(iter(counts))
    return ", ".join(f"{n} {name}" for name, n in counts.items())


def write_shard(
    path: str | os.PathLike[str],
    manifest: Manifest,
    shard: int,
    settings: Mapping[str, Any],
    logger: logging.Logger = LOGGER,
) -> IngestRecord:
    """Decode and resize one shard's images; skipped and converted files are logged and recorded.

    A file listed in the manifest that cannot be read at all stops the job naming it: the
    root changed since the manifest was made.
    """
    size = settings["image_size"]
    members = np.flatnonzero(manifest.shards == shard)
    root = Path(manifest.root)
    kept: list[int] = []
    skipped: list[tuple[str, str, str]] = []
    converted: list[tuple[str, str]] = []
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
                decoded = decode_image(root / relative, size)
            except UnreadableImage as error:
                logger.warning("skipped %s: %s", relative, error)
                skipped.append((relative, error.reason, error.detail))
                continue
            except OSError as error:
                raise IngestError(
                    f"{root / relative}: listed in the manifest but unreadable ({error}); "
                    "did the root change since the manifest was made?"
                ) from error
            if decoded.converted_from is not None:
                logger.warning("converted %s from %s to RGB", relative, decoded.converted_from)
                converted.append((relative, decoded.converted_from))
            images[len(kept)] = decoded.pixels
            kept.append(int(position))
        images.resize(len(kept), axis=0)
        kept_array = np.asarray(kept, np.int64)
        out.create_dataset("manifest_index", data=kept_array)
        out.create_dataset("labels", data=manifest.labels[kept_array])
        out.create_dataset("synsets", data=_strings([manifest.synsets[i] for i in kept]))
        out.create_dataset("files", data=_strings([manifest.files[i] for i in kept]))
        for name, column in (
            ("skipped_files", [f for f, _, _ in skipped]),
            ("skipped_reasons", [r for _, r, _ in skipped]),
            ("skipped_details", [d for _, _, d in skipped]),
            ("converted_files", [f for f, _ in converted]),
            ("converted_from", [source for _, source in converted]),
        ):
            out.create_dataset(name, data=_strings(column))
        h5io.set_attrs(out, h5io.provenance(dict(settings), seeds={"sample": settings["seed"]}))
        h5io.set_attrs(
            out,
            {
                "shard": shard,
                "n_files": len(members),
                "n_images": len(kept),
                "n_skipped": len(skipped),
                "n_converted": len(converted),
                "image_size": size,
                "root": manifest.root,
            },
        )
    record = IngestRecord(len(members), skipped, converted)
    logger.info("shard %d: %d images; %s", shard, len(kept), record.describe() or "nothing skipped")
    return record


_RECORD_DATASETS = [
    "skipped_files",
    "skipped_reasons",
    "skipped_details",
    "converted_files",
    "converted_from",
]


def read_ingest_record(path: str | os.PathLike[str]) -> IngestRecord:
    """A shard's skipped and converted files; a shard from before they were recorded is refused."""
    attrs = h5io.read_attrs(path)
    if "n_converted" not in attrs:
        raise h5io.ArtifactError(
            f"{path}: shard written before ingest recorded skipped and converted files; delete "
            "results/imagenet/shards and rerun to ingest again"
        )
    arrays = {
        name: _decode(values) for name, values in h5io.read_arrays(path, _RECORD_DATASETS).items()
    }
    return IngestRecord(
        int(attrs["n_files"]),
        list(
            zip(
                arrays["skipped_files"],
                arrays["skipped_reasons"],
                arrays["skipped_details"],
                strict=True,
            )
        ),
        list(zip(arrays["converted_files"], arrays["converted_from"], strict=True)),
    )


def ingest_summary(paths: Sequence[str | os.PathLike[str]]) -> dict[str, Any]:
    """Every shard's record, added up: the ``ingest`` entry of the index summary."""
    records = [read_ingest_record(path) for path in paths]
    total = IngestRecord(
        sum(r.n_files for r in records),
        [item for r in records for item in r.skipped],
        [item for r in records for item in r.converted],
    )
    return {"n_shards": len(records), **total.summary()}


@dataclass
class Shard:
    """One image shard's metadata (pixels are read on demand)."""

    path: str
    n_images: int
    labels: np.ndarray
    files: list[str]
    manifest_index: np.ndarray


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

"""MNIST acquisition: mirrors, retries, checksums and the IDX format.

Why this module is strict: every later number in the workflow (the trained
network, the collisions, the interpolation accuracies) depends on the exact
bytes of MNIST. The files are therefore accepted only when the SHA-256 of each
*uncompressed* payload matches the published value (gzip headers carry
timestamps and differ between mirrors, so hashing the ``.gz`` would reject good
mirrors), and the IDX reader checks every header field and the exact payload
length instead of trusting ``reshape`` to catch a short or padded file.

Failures are reported as one line that names the cause (and, for downloads,
every source tried), because that line is what ends up in a Snakemake log.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import logging
import os
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from tqdm import tqdm

from fooled.core import h5io

log = logging.getLogger(__name__)

#: The four IDX files (names without ``.gz``) and the SHA-256 of each
#: uncompressed payload. Insertion order is the download order.
MNIST_FILES: dict[str, str] = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

#: Environment variable naming the one source to use instead of the configured
#: mirrors (offline clusters, CI): a directory, a ``file://`` URL or an URL prefix.
MIRROR_ENV_VAR = "MNIST_MIRROR"

# Which array each file becomes, and the shape its items must have.
_ARRAY_KEYS: dict[str, str] = {
    "train-images-idx3-ubyte": "train/images",
    "train-labels-idx1-ubyte": "train/labels",
    "t10k-images-idx3-ubyte": "test/images",
    "t10k-labels-idx1-ubyte": "test/labels",
}
#: The arrays of the project's MNIST file (``download_mnist``'s output), in order.
DATASETS: tuple[str, ...] = tuple(_ARRAY_KEYS.values())
_SHAPE_TAILS: dict[str, tuple[int, ...]] = {
    "train-images-idx3-ubyte": (28, 28),
    "train-labels-idx1-ubyte": (),
    "t10k-images-idx3-ubyte": (28, 28),
    "t10k-labels-idx1-ubyte": (),
}

# IDX data-type codes (third magic byte); MNIST uses only 0x08.
_IDX_UINT8 = 0x08

# HTTP statuses worth retrying: the server may answer differently next time.
_TRANSIENT_HTTP = {408, 425, 429}

_USER_AGENT = "feature-collisions/0.1 (MNIST download; +urllib)"


class DownloadError(RuntimeError):
    """No source delivered a verified file; the message is one line naming why."""


class IdxFormatError(ValueError):
    """An IDX payload violates the format; the message names the violated field."""


def _one_line(text: object) -> str:
    """Collapse whitespace so an error built from foreign messages stays one line."""
    return " ".join(str(text).split())


def _is_url(source: str) -> bool:
    return "://" in source


def _local_directory(source: str) -> Path | None:
    """The directory a source denotes, or None when it must be fetched over urllib."""
    if source.startswith("file://"):
        return Path(urllib.request.url2pathname(urllib.parse.urlparse(source).path))
    if _is_url(source):
        return None
    return Path(source)


def resolve_mirrors(configured: list[str], env: Mapping[str, str] = os.environ) -> list[str]:
    """The sources to try, in order.

    ``MNIST_MIRROR`` (when set and non-blank) replaces the configured list
    rather than being prepended: on an offline machine the internet mirrors
    would only add timeouts, and in tests a silent fallback to the internet
    would hide a broken local mirror.
    """
    override = env.get(MIRROR_ENV_VAR, "").strip()
    if override:
        return [override]
    return list(configured)


def _http_get(url: str, timeout_seconds: float) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    with urllib.request.urlopen(request, timeout=timeout_seconds) as response:
        # http.client raises IncompleteRead if the body is shorter than Content-Length.
        return response.read()


def _gunzip(payload: bytes, where: str) -> bytes:
    try:
        return gzip.decompress(payload)
    except (EOFError, OSError, zlib.error) as error:
        # EOFError: stream ends early; BadGzipFile (an OSError): not gzip; zlib.error: bad data.
        raise DownloadError(
            f"{where}: truncated or corrupt gzip ({type(error).__name__}: {_one_line(error)})"
        ) from error


def fetch_bytes(
    source: str,
    name: str,
    retries: int,
    backoff_seconds: float,
    timeout_seconds: float,
) -> bytes:
    """Read ``<source>/<name>.gz`` and return the gunzipped payload.

    ``source`` is a local directory, a ``file://`` URL or an URL prefix
    (``http(s)://``). Network failures (connection errors, timeouts, short
    reads, HTTP 5xx/408/429) are retried up to ``retries`` more times, sleeping
    ``backoff_seconds * 2**k`` before retry ``k``, because public mirrors fail
    transiently. Permanent answers (other HTTP 4xx, a missing local file, a
    corrupt gzip) are not retried: asking again cannot change them.

    Raises DownloadError with the message ``"<source>: <name>.gz: <cause>"``.
    """
    if retries < 0:
        raise ValueError(f"retries must be >= 0, got {retries}")
    file_name = f"{name}.gz"
    where = f"{source}: {file_name}"
    directory = _local_directory(source)
    if directory is not None:
        path = directory / file_name
        try:
            compressed = path.read_bytes()
        except FileNotFoundError as error:
            raise DownloadError(f"{where}: not found ({path})") from error
        except OSError as error:
            raise DownloadError(f"{where}: unreadable ({_one_line(error)})") from error
        return _gunzip(compressed, where)

    url = f"{source.rstrip('/')}/{file_name}"
    last_cause = "no attempt made"
    for attempt in range(retries + 1):
        if attempt:
            delay = backoff_seconds * 2 ** (attempt - 1)
            log.info(
                "retrying %s in %.3g s (attempt %d of %d)", url, delay, attempt + 1, retries + 1
            )
            time.sleep(delay)
        try:
            compressed = _http_get(url, timeout_seconds)
        except urllib.error.HTTPError as error:
            last_cause = f"HTTP {error.code} {_one_line(error.reason)}"
            if error.code < 500 and error.code not in _TRANSIENT_HTTP:
                raise DownloadError(f"{where}: {last_cause}") from error
        except urllib.error.URLError as error:
            last_cause = f"network error ({_one_line(error.reason)})"
        except (TimeoutError, http.client.HTTPException, OSError) as error:
            last_cause = f"network error ({type(error).__name__}: {_one_line(error)})"
        else:
            return _gunzip(compressed, where)
        log.warning("%s: attempt %d of %d failed: %s", url, attempt + 1, retries + 1, last_cause)
    raise DownloadError(f"{where}: {last_cause} after {retries + 1} attempt(s)")


def read_idx(payload: bytes, expected_shape_tail: tuple[int, ...] | None = None) -> np.ndarray:
    """Parse an uncompressed IDX payload of unsigned bytes into an array.

    The header is ``00 00 <dtype> <ndim>`` followed by ``ndim`` big-endian
    uint32 dimensions. Every field is checked, and the data must be exactly
    the product of the dimensions: a short file means a broken transfer, a
    longer one means the header and data disagree, and both would otherwise
    surface much later as a puzzling reshape error or silently wrong data.
    ``expected_shape_tail`` fixes the item shape (``(28, 28)`` for images,
    ``()`` for labels), and with it the number of dimensions.
    """
    if len(payload) < 4:
        raise IdxFormatError(f"IDX header: {len(payload)} bytes, shorter than the 4-byte magic")
    magic = int.from_bytes(payload[:4], "big")
    if payload[0] != 0 or payload[1] != 0:
        raise IdxFormatError(f"IDX header: magic 0x{magic:08x} does not start with two zero bytes")
    dtype_code, ndim = payload[2], payload[3]
    if dtype_code != _IDX_UINT8:
        raise IdxFormatError(
            f"IDX header: dtype code 0x{dtype_code:02x}, expected 0x{_IDX_UINT8:02x} (uint8)"
        )
    if ndim == 0:
        raise IdxFormatError("IDX header: 0 dimensions, expected at least 1")
    if expected_shape_tail is not None and ndim != len(expected_shape_tail) + 1:
        raise IdxFormatError(
            f"IDX header: {ndim} dimensions, expected {len(expected_shape_tail) + 1}"
        )
    header_bytes = 4 + 4 * ndim
    if len(payload) < header_bytes:
        raise IdxFormatError(
            f"IDX header: {len(payload)} bytes, shorter than the {header_bytes} bytes "
            f"that {ndim} dimensions need"
        )
    shape = tuple(
        int.from_bytes(payload[4 + 4 * axis : 8 + 4 * axis], "big") for axis in range(ndim)
    )
    if expected_shape_tail is not None and shape[1:] != tuple(expected_shape_tail):
        raise IdxFormatError(
            f"IDX header: item shape {shape[1:]}, expected {tuple(expected_shape_tail)}"
        )
    promised = int(np.prod(shape, dtype=np.int64))
    data_bytes = len(payload) - header_bytes
    if data_bytes != promised:
        dims = "x".join(str(size) for size in shape)
        raise IdxFormatError(
            f"IDX payload: {data_bytes} bytes but header promises {promised} ({dims})"
        )
    # Copy so callers get an ordinary writable array, not a view of immutable bytes.
    return np.frombuffer(payload, dtype=np.uint8, offset=header_bytes).reshape(shape).copy()


def _short(digest: str) -> str:
    return f"{digest[:12]}..."


def _from_source(
    source: str,
    retries: int,
    backoff_seconds: float,
    timeout_seconds: float,
    progress: bool,
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """All four files from one source, verified and parsed, or DownloadError."""
    arrays: dict[str, np.ndarray] = {}
    digests: dict[str, str] = {}
    with tqdm(
        total=len(MNIST_FILES), desc=f"MNIST {source}", unit="file", disable=not progress
    ) as bar:
        for name, expected in MNIST_FILES.items():
            payload = fetch_bytes(source, name, retries, backoff_seconds, timeout_seconds)
            digest = hashlib.sha256(payload).hexdigest()
            if digest != expected:
                raise DownloadError(
                    f"{source}: {name}.gz: SHA-256 mismatch "
                    f"(got {_short(digest)}, expected {_short(expected)})"
                )
            try:
                arrays[_ARRAY_KEYS[name]] = read_idx(payload, _SHAPE_TAILS[name])
            except IdxFormatError as error:
                # Only reachable if MNIST_FILES were edited to a bad checksum.
                raise DownloadError(f"{source}: {name}.gz: {error}") from error
            digests[name] = digest
            bar.update(1)
    for split in ("train", "test"):
        n_images, n_labels = len(arrays[f"{split}/images"]), len(arrays[f"{split}/labels"])
        if n_images != n_labels:
            raise DownloadError(
                f"{source}: {split} split has {n_images} images but {n_labels} labels"
            )
    return arrays, digests


def download_mnist(
    mirrors: list[str],
    retries: int = 3,
    backoff_seconds: float = 1.0,
    timeout_seconds: float = 60.0,
    progress: bool = True,
) -> tuple[dict[str, np.ndarray], str, dict[str, str]]:
    """Fetch, verify and parse MNIST from the first mirror that serves all four files.

    A mirror wins only if all four payloads match ``MNIST_FILES``; files are
    never mixed across mirrors, so the recorded ``source`` is the whole truth.
    Returns ``(arrays, source, sha256)`` where ``arrays`` maps
    ``train/images`` (60000, 28, 28), ``train/labels`` (60000,),
    ``test/images`` (10000, 28, 28) and ``test/labels`` (10000,), all uint8,
    and ``sha256`` maps each file name to the verified digest.

    Raises DownloadError listing every source tried and why it failed.
    """
    if not mirrors:
        raise DownloadError("MNIST download failed: no mirrors configured")
    failures: list[str] = []
    for source in mirrors:
        log.info("fetching MNIST from %s", source)
        try:
            arrays, digests = _from_source(
                source, retries, backoff_seconds, timeout_seconds, progress
            )
        except DownloadError as error:
            log.warning("%s", error)
            failures.append(_one_line(error))
            continue
        log.info("MNIST verified from %s", source)
        return arrays, source, digests
    raise DownloadError("MNIST download failed: " + "; ".join(failures))


def to_pixels(images: np.ndarray) -> np.ndarray:
    """uint8 (n, 28, 28) images to the float32 (n, 784) rows in [0, 1] the MLP takes."""
    return (np.asarray(images, dtype=np.float32) / 255.0).reshape(len(images), -1)


def read_mnist(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Every array of the project's MNIST file (``train/images``, ..., ``test/labels``)."""
    return h5io.read_arrays(path, list(DATASETS))

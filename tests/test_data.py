"""MNIST acquisition on real inputs: the offline mirror, real HTTP servers, real gzip.

Tests that need the MNIST files read the mirror directory from ``MNIST_MIRROR``
and skip with a message when it is unset. HTTP tests run ``http.server`` on
127.0.0.1 (port 0) in a daemon thread; every server is shut down by its fixture.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import http.server
import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np
import pytest

from fooled.core import h5io
from fooled.core.config import schema_defaults
from fooled.core.stage import Job, run_stage
from fooled.data import stages
from fooled.data.mnist import (
    DATASETS,
    MNIST_FILES,
    DownloadError,
    IdxFormatError,
    download_mnist,
    fetch_bytes,
    read_idx,
    read_mnist,
    resolve_mirrors,
)

REPO = Path(__file__).resolve().parents[1]
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
FAST = {"retries": 0, "backoff_seconds": 0.001, "timeout_seconds": 5.0, "progress": False}


@pytest.fixture(scope="module")
def mirror() -> Path:
    value = os.environ.get("MNIST_MIRROR", "").strip()
    if not value:
        pytest.skip(
            "MNIST_MIRROR is unset: point it at a directory holding the four MNIST .gz files"
        )
    path = Path(value)
    if not path.is_dir():
        pytest.skip(f"MNIST_MIRROR={value} is not a directory (these tests need a local copy)")
    return path


@pytest.fixture(scope="module")
def downloaded(mirror: Path) -> tuple[dict[str, np.ndarray], str, dict[str, str]]:
    return download_mnist([str(mirror)], progress=False)


# --- HTTP servers -------------------------------------------------------------------------


class _QuietFiles(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        pass


class _StatusHandler(http.server.BaseHTTPRequestHandler):
    """Answers every GET with the server's ``status`` and records the paths asked for."""

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        self.server.requests.append(self.path)  # type: ignore[attr-defined]
        self.send_error(self.server.status)  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        pass


@contextlib.contextmanager
def _serve(handler: type, **attributes: object) -> Iterator[tuple[str, http.server.HTTPServer]]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    for key, value in attributes.items():
        setattr(server, key, value)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextlib.contextmanager
def _serve_directory(directory: Path) -> Iterator[str]:
    with _serve(functools.partial(_QuietFiles, directory=str(directory))) as (url, _):
        yield url


@contextlib.contextmanager
def _serve_status(status: int) -> Iterator[tuple[str, list[str]]]:
    requests: list[str] = []
    with _serve(_StatusHandler, status=status, requests=requests) as (url, _):
        yield url, requests


@pytest.fixture(scope="module")
def corrupt_copy(mirror: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The mirror with one byte flipped in train-labels' uncompressed payload, re-gzipped."""
    directory = tmp_path_factory.mktemp("corrupt")
    for name in MNIST_FILES:
        shutil.copy(mirror / f"{name}.gz", directory / f"{name}.gz")
    target = directory / "train-labels-idx1-ubyte.gz"
    payload = bytearray(gzip.decompress(target.read_bytes()))
    payload[1000] ^= 0x01
    target.write_bytes(gzip.compress(bytes(payload)))
    return directory


# --- IDX reader ---------------------------------------------------------------------------


def _idx(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(size).to_bytes(4, "big") for size in array.shape
    )
    return header + array.astype(np.uint8).tobytes()


def test_read_idx_real_label_file(mirror: Path) -> None:
    payload = gzip.decompress((mirror / "t10k-labels-idx1-ubyte.gz").read_bytes())
    labels = read_idx(payload, expected_shape_tail=())
    assert labels.shape == (10000,) and labels.dtype == np.uint8
    assert np.bincount(labels, minlength=10).tolist() == TEST_COUNTS
    assert labels.flags.writeable


def test_read_idx_round_trip_without_expected_shape() -> None:
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    np.testing.assert_array_equal(read_idx(_idx(array)), array)


@pytest.mark.parametrize(
    ("mutate", "tail", "message"),
    [
        (
            lambda b: b"\x01" + b[1:],
            (28, 28),
            r"IDX header: magic 0x01000803 does not start with two zero bytes",
        ),
        (
            lambda b: b[:2] + b"\x0d" + b[3:],
            (28, 28),
            r"IDX header: dtype code 0x0d, expected 0x08",
        ),
        (lambda b: b[:3] + b"\x00" + b[4:], None, r"IDX header: 0 dimensions"),
        (lambda b: b, (), r"IDX header: 3 dimensions, expected 1"),
        (lambda b: b, (28, 27), r"IDX header: item shape \(28, 28\), expected \(28, 27\)"),
        (lambda b: b[:2], None, r"IDX header: 2 bytes, shorter than the 4-byte magic"),
        (lambda b: b[:10], (28, 28), r"IDX header: 10 bytes, shorter than the 16 bytes"),
        (
            lambda b: b[:-1],
            (28, 28),
            r"IDX payload: 2351 bytes but header promises 2352 \(3x28x28\)",
        ),
        (lambda b: b + b"\x00", (28, 28), r"IDX payload: 2353 bytes but header promises 2352"),
    ],
    ids=[
        "magic",
        "dtype",
        "ndim-zero",
        "ndim",
        "item-shape",
        "tiny",
        "short-header",
        "short",
        "trailing",
    ],
)
def test_read_idx_rejects_bad_payloads(mutate, tail, message) -> None:  # type: ignore[no-untyped-def]
    good = _idx(np.zeros((3, 28, 28), dtype=np.uint8))
    assert read_idx(good, (28, 28)).shape == (3, 28, 28)
    with pytest.raises(IdxFormatError, match=message) as caught:
        read_idx(mutate(good), tail)
    assert "\n" not in str(caught.value)


# --- full download from the directory mirror --------------------------------------------


def test_download_from_directory_mirror(downloaded, mirror: Path) -> None:  # type: ignore[no-untyped-def]
    arrays, source, digests = downloaded
    assert source == str(mirror)
    assert digests == MNIST_FILES
    assert list(arrays) == ["train/images", "train/labels", "test/images", "test/labels"]
    assert arrays["train/images"].shape == (60000, 28, 28)
    assert arrays["test/images"].shape == (10000, 28, 28)
    assert all(array.dtype == np.uint8 for array in arrays.values())


def test_read_mnist_gives_back_every_array_written(downloaded, tmp_path) -> None:  # type: ignore[no-untyped-def]
    arrays, _, _ = downloaded
    assert tuple(arrays) == DATASETS
    path = tmp_path / "mnist.h5"
    h5io.write_artifact(path, arrays, h5io.provenance({}, seeds={}), {})
    read = read_mnist(path)
    assert tuple(read) == DATASETS
    for name in DATASETS:
        np.testing.assert_array_equal(read[name], arrays[name])
    assert np.bincount(arrays["train/labels"], minlength=10).tolist() == TRAIN_COUNTS
    assert np.bincount(arrays["test/labels"], minlength=10).tolist() == TEST_COUNTS
    assert int(arrays["train/images"].max()) == 255


def test_sha256_constants_match_mirror_sums(mirror: Path) -> None:
    sums = mirror / "SHA256SUMS.raw"
    if not sums.exists():
        pytest.skip(f"{sums} is absent")
    published = dict(line.split()[::-1] for line in sums.read_text().splitlines() if line.strip())
    assert published == MNIST_FILES


def test_fetch_bytes_file_url(mirror: Path) -> None:
    payload = fetch_bytes(mirror.as_uri(), "t10k-labels-idx1-ubyte", 0, 0.001, 5.0)
    assert hashlib.sha256(payload).hexdigest() == MNIST_FILES["t10k-labels-idx1-ubyte"]


def test_fetch_bytes_over_http(mirror: Path) -> None:
    with _serve_directory(mirror) as url:
        payload = fetch_bytes(url + "/", "t10k-labels-idx1-ubyte", 0, 0.001, 5.0)
    assert hashlib.sha256(payload).hexdigest() == MNIST_FILES["t10k-labels-idx1-ubyte"]


# --- failures -----------------------------------------------------------------------------


def test_checksum_mismatch_over_http_names_file_and_source(corrupt_copy: Path) -> None:
    with _serve_directory(corrupt_copy) as url:
        with pytest.raises(DownloadError) as caught:
            download_mnist([url], **FAST)
    message = str(caught.value)
    assert message.startswith("MNIST download failed: ")
    assert f"{url}: train-labels-idx1-ubyte.gz: SHA-256 mismatch" in message
    assert "expected 65a50cbbf4e9..." in message
    assert "\n" not in message


def test_falls_back_to_next_mirror_after_checksum_mismatch(
    corrupt_copy: Path, mirror: Path
) -> None:
    with _serve_directory(corrupt_copy) as url:
        arrays, source, digests = download_mnist([url, str(mirror)], **FAST)
    assert source == str(mirror)
    assert digests == MNIST_FILES
    assert arrays["train/labels"].shape == (60000,)


def test_http_404_is_reported_for_every_source(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with _serve_status(404) as (first, first_requests), _serve_status(404) as (second, _):
        start = time.monotonic()
        with pytest.raises(DownloadError) as caught:
            download_mnist(
                [first, str(empty), second],
                retries=2,
                backoff_seconds=0.001,
                timeout_seconds=5.0,
                progress=False,
            )
        elapsed = time.monotonic() - start
    message = str(caught.value)
    assert f"{first}: train-images-idx3-ubyte.gz: HTTP 404" in message
    assert f"{empty}: train-images-idx3-ubyte.gz: not found" in message
    assert f"{second}: train-images-idx3-ubyte.gz: HTTP 404" in message
    assert message.count(";") == 2 and "\n" not in message
    # A 404 is a permanent answer: asked once, not retried; the mirror is abandoned at once.
    assert first_requests == ["/train-images-idx3-ubyte.gz"]
    assert elapsed < 5


def test_http_503_is_retried_with_backoff() -> None:
    with _serve_status(503) as (url, requests):
        start = time.monotonic()
        with pytest.raises(DownloadError, match=r"HTTP 503 .* after 3 attempt\(s\)") as caught:
            fetch_bytes(url, "train-labels-idx1-ubyte", 2, 0.05, 5.0)
        elapsed = time.monotonic() - start
    assert len(requests) == 3
    assert elapsed >= 0.05 + 0.1  # back-off doubles: 0.05 s, then 0.1 s
    assert str(caught.value).startswith(f"{url}: train-labels-idx1-ubyte.gz: ")


def test_timeout_is_a_retried_network_error() -> None:
    # A socket that listens but never answers: the request connects, then times out.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        start = time.monotonic()
        with pytest.raises(DownloadError, match=r"network error .* after 2 attempt\(s\)"):
            fetch_bytes(url, "train-labels-idx1-ubyte", 1, 0.001, 0.2)
        assert time.monotonic() - start < 3


def test_connection_refused_is_a_network_error() -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    with pytest.raises(DownloadError, match=r"network error") as caught:
        fetch_bytes(f"http://127.0.0.1:{port}", "train-labels-idx1-ubyte", 1, 0.001, 2.0)
    assert "\n" not in str(caught.value)


def test_truncated_gzip_is_an_error(mirror: Path, tmp_path: Path) -> None:
    whole = (mirror / "t10k-labels-idx1-ubyte.gz").read_bytes()
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(
        DownloadError, match=r"t10k-labels-idx1-ubyte.gz: truncated or corrupt gzip"
    ):
        fetch_bytes(str(tmp_path), "t10k-labels-idx1-ubyte", 2, 0.001, 5.0)
    # Same file over HTTP: Content-Length matches, so it is the file, not the transfer.
    with _serve_directory(tmp_path) as url:
        with pytest.raises(DownloadError, match=r"truncated or corrupt gzip") as caught:
            fetch_bytes(url, "t10k-labels-idx1-ubyte", 0, 0.001, 5.0)
    assert str(caught.value).startswith(url)


def test_not_gzip_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(b"<html>mirror moved</html>")
    with pytest.raises(DownloadError, match=r"truncated or corrupt gzip \(BadGzipFile"):
        fetch_bytes(str(tmp_path), "train-labels-idx1-ubyte", 0, 0.001, 5.0)


def test_no_mirrors_is_an_error() -> None:
    with pytest.raises(DownloadError, match="no mirrors configured"):
        download_mnist([], progress=False)


# --- MNIST_MIRROR resolution --------------------------------------------------------------


def test_resolve_mirrors_env_replaces_configured() -> None:
    configured = ["https://a.example/mnist/", "https://b.example/mnist/"]
    assert resolve_mirrors(configured, {"MNIST_MIRROR": "/data/mnist"}) == ["/data/mnist"]
    assert resolve_mirrors(configured, {"MNIST_MIRROR": "file:///data/mnist"}) == [
        "file:///data/mnist"
    ]
    assert resolve_mirrors(configured, {"MNIST_MIRROR": "http://10.0.0.1/m/"}) == [
        "http://10.0.0.1/m/"
    ]
    assert resolve_mirrors(configured, {}) == configured
    assert resolve_mirrors(configured, {"MNIST_MIRROR": "  "}) == configured
    assert resolve_mirrors(configured, {}) is not configured


def test_default_mirrors_are_the_canonical_ones() -> None:
    # LeCun's original site is last: it has been intermittently unavailable for years.
    assert schema_defaults("datasets/mnist.schema.yaml", "mirrors") == [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ]


# --- the stage function of rule download_mnist ------------------------------------------


SETTINGS = {
    "mirrors": ["http://127.0.0.1:9/unused/"],
    "retries": 0,
    "backoff_seconds": 0.001,
    "timeout_seconds": 5.0,
}


def _download_job(output: Path, log: Path, settings=SETTINGS) -> Job:
    return Job.make(output={"mnist": str(output)}, params={"settings": settings}, log=str(log))


def test_stage_writes_documented_artifact(mirror: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MNIST_MIRROR", str(mirror))
    output, log = tmp_path / "mnist" / "mnist.h5", tmp_path / "download.log"
    job = _download_job(output, log)
    run_stage("download_mnist", job.log, lambda logger: stages.download_mnist(job, logger))
    with h5py.File(output, "r") as handle:
        shapes = {
            name: (handle[name].shape, handle[name].dtype)
            for name in ("train/images", "train/labels", "test/images", "test/labels")
        }
        attrs = dict(handle.attrs)
        train_labels = handle["train/labels"][()]
    assert shapes == {
        "train/images": ((60000, 28, 28), np.uint8),
        "train/labels": ((60000,), np.uint8),
        "test/images": ((10000, 28, 28), np.uint8),
        "test/labels": ((10000,), np.uint8),
    }
    assert np.bincount(train_labels, minlength=10).tolist() == TRAIN_COUNTS
    assert attrs["source"] == str(mirror)
    assert json.loads(attrs["sha256_raw"]) == MNIST_FILES
    assert json.loads(attrs["config_json"]) == SETTINGS
    assert json.loads(attrs["seeds"]) == {}
    for key in ("config_digest", "library_versions", "input_checksums"):
        assert key in attrs
    assert "wrote" in log.read_text()
    assert not list(output.parent.glob(".*tmp-*"))


def test_stage_failure_logs_one_line_and_writes_nothing(
    tmp_path: Path, capsys, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("MNIST_MIRROR", raising=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    output, log = tmp_path / "out" / "mnist.h5", tmp_path / "download.log"
    job = _download_job(output, log, dict(SETTINGS, mirrors=[str(empty)]))
    with pytest.raises(SystemExit) as exit_status:
        run_stage("download_mnist", job.log, lambda logger: stages.download_mnist(job, logger))
    assert exit_status.value.code == 1
    assert not output.exists()
    errors = [line for line in log.read_text().splitlines() if " ERROR " in line]
    assert len(errors) == 1
    assert f"MNIST download failed: {empty}: train-images-idx3-ubyte.gz: not found" in errors[0]
    assert "MNIST download failed" in capsys.readouterr().err

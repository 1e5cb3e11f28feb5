"""ImageNet ingest, the patch database, its index and the source images, on real images.

The real 1,000-image sample is found through IMAGENET_SAMPLE (the folder that
holds train/ and classes.tsv, or train/ itself); tests that need it are
skipped with a message when it is unset. A 20-class subset keeps them fast.
Archive and configuration tests build their own files and always run.
"""

import io
import json
import os
import shutil
import tarfile
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml
from workflow_runner import run_snakemake

from fooled.core import h5io
from fooled.core.config import ConfigError, Schemas
from fooled.data import imagenet, patch_index, patches, sources
from fooled.studies.collisions.layout import IMAGENET_LAYOUT as CI_LAYOUT

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = Schemas(ROOT / "workflow" / "schemas")
N_CLASSES = 20


def _sample_train() -> Path | None:
    text = os.environ.get("IMAGENET_SAMPLE")
    if not text:
        return None
    path = Path(text).resolve()
    return path / "train" if (path / "train").is_dir() else path


needs_sample = pytest.mark.skipif(
    _sample_train() is None,
    reason="IMAGENET_SAMPLE is unset: point it at the ImageNet sample (train/<synset>/*.JPEG)",
)


def _settings(**section):
    """The ``datasets.imagenet`` section as the workflow loads it: defaults, schema, checks."""
    return imagenet.load_settings(section)


@pytest.fixture(scope="module")
def train_root():
    root = _sample_train()
    if root is None:
        pytest.skip("IMAGENET_SAMPLE is unset")
    return root


@pytest.fixture(scope="module")
def classes(train_root):
    return sorted(p.name for p in train_root.iterdir() if p.is_dir())[:N_CLASSES]


@pytest.fixture(scope="module")
def ingested(tmp_path_factory, train_root, classes):
    """20 real images in two shards, stride 14, 4 held out; the store preloaded."""
    folder = tmp_path_factory.mktemp("ingest")
    settings = _settings(root=str(train_root), classes=classes, fraction=1.0, n_shards=2)
    manifest = imagenet.build_manifest(settings)
    paths = []
    for shard in range(2):
        paths.append(str(folder / f"shard_{shard:04d}.h5"))
        imagenet.write_shard(paths[-1], manifest, shard, settings)
    patch_map = patches.build_patch_map(paths, 256, 32, 14, heldout=4, seed=0)
    store = patches.ImageStore(paths, preload=True)
    return {
        "settings": settings,
        "manifest": manifest,
        "paths": paths,
        "map": patch_map,
        "store": store,
        "folder": folder,
    }


# --------------------------------------------------------------------------- ingest


@needs_sample
def test_ingest_writes_labelled_256_pixel_shards(ingested, classes):
    manifest, store = ingested["manifest"], ingested["store"]
    assert len(manifest.files) == N_CLASSES and manifest.classes == classes
    # Labels are the class's position among all the root's synsets (Keras/Caffe order).
    np.testing.assert_array_equal(manifest.labels, np.arange(N_CLASSES))
    assert store.n_images == N_CLASSES
    images = store.images(np.arange(N_CLASSES))
    assert images.shape == (N_CLASSES, 256, 256, 3) and images.dtype == np.uint8
    with h5py.File(ingested["paths"][0]) as handle:
        assert handle["images"].chunks == (1, 256, 256, 3)
        assert handle["images"].compression == "gzip"
        assert handle.attrs["n_skipped"] == handle.attrs["n_converted"] == 0
        assert "config_digest" in handle.attrs
        assert handle["files"][0].decode().startswith(classes[0] + "/")


def test_sample_is_seeded_and_per_class():
    files = sorted(f"n00000001_{i:04d}.JPEG" for i in range(1300))
    first = imagenet.sample_files(files, 0.1, 1, imagenet.class_rng(0, "n00000001"))
    again = imagenet.sample_files(files, 0.1, 1, imagenet.class_rng(0, "n00000001"))
    other = imagenet.sample_files(files, 0.1, 1, imagenet.class_rng(1, "n00000001"))
    assert len(first) == 130 and first == again and first != other and first == sorted(first)
    assert len(imagenet.sample_files(files[:3], 0.1, 1, imagenet.class_rng(0, "n1"))) == 1


@needs_sample
def test_a_class_missing_from_the_root_is_named(train_root, classes):
    settings = _settings(root=str(train_root), classes=[classes[0], "n09999999"])
    with pytest.raises(imagenet.IngestError, match="class n09999999 listed in imagenet.classes"):
        imagenet.build_manifest(settings)


def test_root_from_the_environment_or_a_named_error(tmp_path, monkeypatch):
    monkeypatch.delenv("IMAGENET_ROOT", raising=False)
    with pytest.raises(imagenet.IngestError, match="IMAGENET_ROOT"):
        imagenet.resolve_root(None)
    monkeypatch.setenv("IMAGENET_ROOT", str(tmp_path))
    assert imagenet.resolve_root(None) == tmp_path
    with pytest.raises(imagenet.IngestError, match="does not exist"):
        imagenet.resolve_root(str(tmp_path / "nowhere"))


def _encoded(pixels: np.ndarray, image_format: str, mode: str | None = None) -> bytes:
    """The bytes of a real image file: ``pixels`` (converted to ``mode``) encoded by Pillow."""
    from PIL import Image

    image = Image.fromarray(pixels)
    buffer = io.BytesIO()
    (image.convert(mode) if mode else image).save(buffer, format=image_format)
    return buffer.getvalue()


def _photo() -> np.ndarray:
    """A 120x160 RGB image with colour and detail (its JPEG is no flat file)."""
    y, x = np.mgrid[0:120, 0:160]
    return np.stack([(x * 1.6) % 256, (y * 2.1) % 256, (x + y) % 256], axis=-1).astype(np.uint8)


def _resized(pixels: np.ndarray, size: int) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(pixels).resize((size, size), Image.Resampling.BILINEAR))


@pytest.mark.parametrize(
    "content, converted_from",
    [
        ("jpeg", None),
        ("grey jpeg", None),  # grey -> RGB repeats the channel: nothing to tell
        ("png", "PNG"),
        ("cmyk jpeg", "CMYK JPEG"),
        ("16-bit grey png", "PNG"),
    ],
)
def test_content_not_the_name_says_what_is_converted(tmp_path, content, converted_from):
    photo = _photo()
    data = {
        "jpeg": lambda: _encoded(photo, "JPEG"),
        "grey jpeg": lambda: _encoded(photo, "JPEG", "L"),
        "png": lambda: _encoded(photo, "PNG"),
        "cmyk jpeg": lambda: _encoded(photo, "JPEG", "CMYK"),
        "16-bit grey png": lambda: _encoded(photo[..., 0].astype(np.uint16) * 257, "PNG"),
    }[content]()
    path = tmp_path / "n00000001_1.JPEG"  # every file is named .JPEG, whatever it holds
    path.write_bytes(data)
    decoded = imagenet.decode_image(path, 64)
    assert decoded.converted_from == converted_from
    assert decoded.pixels.shape == (64, 64, 3) and decoded.pixels.dtype == np.uint8
    expected = _resized(photo, 64).astype(int)
    if content == "png":  # lossless: exactly the pixels that were saved
        np.testing.assert_array_equal(decoded.pixels, expected)
    elif content == "16-bit grey png":  # scaled to 8 bits, not clipped at 255
        np.testing.assert_array_equal(decoded.pixels[..., 1], _resized(photo[..., 0], 64))
    elif content != "grey jpeg":  # JPEG is lossy; CMYK comes back as the same colours
        assert np.abs(decoded.pixels.astype(int) - expected).mean() < 8
    np.testing.assert_array_equal(imagenet.load_rgb(data, 64), decoded.pixels)


@pytest.mark.parametrize(
    "content, reason",
    [
        ("empty", "empty"),
        ("random bytes", "not an image"),
        ("text", "not an image"),
        ("truncated jpeg", "corrupt"),
        ("truncated png", "corrupt"),
    ],
)
def test_a_file_that_holds_no_image_is_refused_with_its_reason(tmp_path, content, reason):
    jpeg, png = _encoded(_photo(), "JPEG"), _encoded(_photo(), "PNG")
    data = {
        "empty": b"",
        "random bytes": np.random.default_rng(0).integers(0, 256, 5000, np.uint8).tobytes(),
        "text": b"<html>404 Not Found</html>",
        "truncated jpeg": jpeg[: len(jpeg) // 3],
        "truncated png": png[: len(png) // 3],
    }[content]
    path = tmp_path / "n00000001_1.JPEG"
    path.write_bytes(data)
    with pytest.raises(imagenet.UnreadableImage) as caught:
        imagenet.decode_image(path, 64)
    assert caught.value.reason == reason and reason in imagenet.SKIP_REASONS


def _png_of(jpeg: Path) -> bytes:
    """A real ImageNet photo re-encoded as PNG (lossless: it decodes to the JPEG's pixels)."""
    from PIL import Image

    with Image.open(jpeg) as image:
        return _encoded(np.asarray(image.convert("RGB")), "PNG")


def _root_with(folder: Path, train_root: Path, classes, extras: dict[str, bytes]) -> Path:
    """``classes`` copied from the sample in ImageNet's layout, plus ``extras`` (name -> bytes)."""
    for synset in classes:
        shutil.copytree(train_root / synset, folder / synset)
    for name, data in extras.items():
        (folder / name).write_bytes(data)
    return folder


@needs_sample
def test_skipped_and_converted_files_are_recorded_in_the_shard(tmp_path, train_root, classes):
    first, second = classes[:2]
    photo = next((train_root / classes[5]).iterdir())
    good = next((train_root / first).iterdir()).read_bytes()
    root = _root_with(
        tmp_path / "root",
        train_root,
        [first, second],
        {
            f"{first}/{first}_zz_png.JPEG": _png_of(photo),
            f"{first}/{first}_zz_truncated.JPEG": good[: len(good) // 3],
            f"{second}/{second}_zz_cmyk.JPEG": _encoded(_photo(), "JPEG", "CMYK"),
            f"{second}/{second}_zz_empty.JPEG": b"",
            f"{second}/{second}_zz_garbage.JPEG": b"not a jpeg at all",
        },
    )
    settings = _settings(root=str(root), fraction=1.0, n_shards=1)
    manifest = imagenet.build_manifest(settings)
    assert len(manifest.files) == 7
    record = imagenet.write_shard(tmp_path / "shard.h5", manifest, 0, settings)
    assert record.n_images == 4 and record.n_files == 7
    assert record.describe() == (
        "3 of 7 files skipped (1 corrupt, 1 empty, 1 not an image), "
        "2 converted (1 CMYK JPEG, 1 PNG)"
    )
    assert imagenet.read_ingest_record(tmp_path / "shard.h5") == record
    shard = imagenet.open_shard(tmp_path / "shard.h5")
    assert shard.n_images == 4
    with h5py.File(tmp_path / "shard.h5") as handle:
        text = {
            name: [v.decode() for v in handle[name][()]]
            for name in handle
            if name.startswith(("skipped", "converted"))
        }
        attrs = dict(handle.attrs)
        png_pixels = handle["images"][shard.files.index(f"{first}/{first}_zz_png.JPEG")]
    assert text["skipped_files"] == [
        f"{first}/{first}_zz_truncated.JPEG",
        f"{second}/{second}_zz_empty.JPEG",
        f"{second}/{second}_zz_garbage.JPEG",
    ]
    assert text["skipped_reasons"] == ["corrupt", "empty", "not an image"]
    assert "JPEG does not decode" in text["skipped_details"][0]
    assert text["converted_files"] == [
        f"{first}/{first}_zz_png.JPEG",
        f"{second}/{second}_zz_cmyk.JPEG",
    ]
    assert text["converted_from"] == ["PNG", "CMYK JPEG"]
    assert (attrs["n_files"], attrs["n_skipped"], attrs["n_converted"]) == (7, 3, 2)
    # The PNG named .JPEG holds the photo's own pixels: converted faithfully, not re-compressed.
    np.testing.assert_array_equal(png_pixels, imagenet.load_rgb(photo, 256))
    summary = imagenet.ingest_summary([tmp_path / "shard.h5", tmp_path / "shard.h5"])
    assert summary["n_shards"] == 2 and summary["n_files"] == 14 and summary["n_images"] == 8
    assert summary["skipped_reasons"] == {"corrupt": 2, "empty": 2, "not an image": 2}
    assert summary["converted_from"] == {"CMYK JPEG": 2, "PNG": 2}
    assert summary["converted"][0] == {"file": f"{first}/{first}_zz_png.JPEG", "from": "PNG"}
    assert summary["skipped"][1]["reason"] == "empty"


@needs_sample
def test_a_file_gone_since_the_manifest_stops_the_ingest(tmp_path, train_root, classes):
    root = _root_with(tmp_path / "root", train_root, classes[:2], {})
    settings = _settings(root=str(root), fraction=1.0, n_shards=1)
    manifest = imagenet.build_manifest(settings)
    (root / manifest.files[1]).unlink()
    with pytest.raises(imagenet.IngestError, match=f"{manifest.files[1]}: listed in the manifest"):
        imagenet.write_shard(tmp_path / "shard.h5", manifest, 0, settings)


def test_a_shard_from_before_the_record_is_refused_by_the_summary(tmp_path):
    old = tmp_path / "shard_0000.h5"
    with h5py.File(old, "w") as handle:
        handle.attrs["n_corrupt"] = 0
    with pytest.raises(h5io.ArtifactError, match="shard_0000.h5: shard written before ingest"):
        imagenet.ingest_summary([old])


@needs_sample
def test_a_truncated_shard_is_detected_on_read(tmp_path, ingested):
    broken = tmp_path / "shard.h5"
    data = Path(ingested["paths"][0]).read_bytes()
    broken.write_bytes(data[: len(data) // 2])
    with pytest.raises(h5io.ArtifactError, match="shard.h5"):
        patches.ImageStore([str(broken)], preload=True)


# --------------------------------------------------------------------------- archives


def _tar_bytes(members) -> bytes:
    """A tar from (TarInfo, payload or None) pairs."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for info, payload in members:
            info.size = len(payload) if payload is not None else 0
            archive.addfile(info, io.BytesIO(payload) if payload is not None else None)
    return buffer.getvalue()


def _file(name: str, payload: bytes):
    return tarfile.TarInfo(name), payload


def _special(name: str, kind: bytes, linkname: str = ""):
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, linkname
    return info, None


def _jpeg() -> bytes:
    return _encoded(np.full((40, 50, 3), 120, np.uint8), "JPEG")


def _training_archive(path: Path, inner_members_by_class: dict) -> Path:
    outer = [
        _file(f"{synset}.tar", _tar_bytes(members))
        for synset, members in inner_members_by_class.items()
    ]
    path.write_bytes(_tar_bytes(outer))
    return path


def test_the_training_archive_is_sampled_and_extracted(tmp_path):
    jpeg = _jpeg()
    archive = _training_archive(
        tmp_path / "train.tar",
        {
            "n00000001": [_file(f"n00000001_{i}.JPEG", jpeg) for i in range(10)],
            "n00000002": [_file(f"n00000002_{i}.JPEG", jpeg) for i in range(3)],
        },
    )
    extract = tmp_path / "extracted"
    settings = _settings(root=str(archive), fraction=0.2, extract_dir=str(extract), n_shards=2)
    manifest = imagenet.build_manifest(settings)
    assert manifest.root == str(extract.resolve())
    assert [f.split("/")[0] for f in manifest.files] == ["n00000001"] * 2 + ["n00000002"]
    assert all((extract / name).is_file() for name in manifest.files)
    assert sorted(p.name for p in extract.iterdir()) == ["n00000001", "n00000002"]
    # n_available counts every image of the class's tar, not only the sampled ones
    assert manifest.classes == ["n00000001", "n00000002"]
    assert manifest.n_available.tolist() == [10, 3]


@pytest.mark.parametrize(
    "where, member, reason",
    [
        ("outer", _file("../evil.tar", b"x"), "path with '..'"),
        ("outer", _file("/etc/evil.tar", b"x"), "absolute path"),
        ("inner", _file("../../escape.JPEG", b"x"), "path with '..'"),
        ("inner", _file("/tmp/abs.JPEG", b"x"), "absolute path"),
        ("inner", _special("link.JPEG", tarfile.SYMTYPE, "/etc/passwd"), "link"),
        ("inner", _special("hard.JPEG", tarfile.LNKTYPE, "other.JPEG"), "link"),
        ("inner", _special("dev.JPEG", tarfile.CHRTYPE), "device"),
    ],
)
def test_a_malicious_archive_is_refused_naming_the_member(tmp_path, where, member, reason):
    good = [_file("n00000001_0.JPEG", _jpeg())]
    if where == "outer":
        outer = [_file("n00000001.tar", _tar_bytes(good)), member]
        archive = tmp_path / "train.tar"
        archive.write_bytes(_tar_bytes(outer))
    else:
        archive = _training_archive(tmp_path / "train.tar", {"n00000001": good + [member]})
    extract = tmp_path / "out" / "extracted"
    settings = _settings(root=str(archive), fraction=1.0, extract_dir=str(extract))
    name = member[0].name
    with pytest.raises(imagenet.UnsafeArchiveError, match=f"refused member '{name}'.*{reason}"):
        imagenet.build_manifest(settings)
    assert not extract.exists()
    assert not (tmp_path / "escape.JPEG").exists() and not Path("/tmp/abs.JPEG").exists()
    leftovers = list((tmp_path / "out").iterdir()) if (tmp_path / "out").exists() else []
    assert leftovers == []


# --------------------------------------------------------------------------- patches


def test_grid_counts_match_the_paper():
    assert patches.grid_positions(256, 32, 14).tolist() == list(range(0, 225, 14))
    assert [len(patches.grid_positions(256, 32, s)) ** 2 for s in (14, 7, 4)] == [289, 1089, 3249]
    # 10% of ImageNet's 128,066 images at 289 patches: the paper's 37,011,074.
    assert 128066 * 289 == 37011074


@needs_sample
def test_every_patch_reads_back_bit_identical_from_its_coordinates(ingested):
    patch_map, store = ingested["map"], ingested["store"]
    assert patch_map.n_patches == 16 * 289 and patch_map.heldout_images.size == 4
    assert not np.isin(patch_map.heldout_images, patch_map.db_images).any()
    positions = patches.grid_positions(256, 32, 14)
    cut = patches.cut_patches(store.images(patch_map.db_images), positions, 32)
    ids = np.arange(patch_map.n_patches)
    np.testing.assert_array_equal(store.patches(patch_map, ids), cut)
    images = store.images(np.arange(store.n_images))
    for i in np.random.default_rng(0).choice(ids, 200, replace=False):
        image, y, x = patch_map.image[i], patch_map.y[i], patch_map.x[i]
        np.testing.assert_array_equal(cut[i], images[image, y : y + 32, x : x + 32].ravel())
    # Read back from disk (no preload) as well.
    lazy = patches.ImageStore(ingested["paths"], preload=False)
    np.testing.assert_array_equal(lazy.patches(patch_map, ids[::97]), cut[::97])


# --------------------------------------------------------------------------- index


@pytest.fixture(scope="module")
def queries(ingested):
    settings = ingested["settings"]
    return sources.heldout_queries(
        ingested["store"], ingested["map"], settings["query"], {"n_queries": 400, "seed": 0}
    )


@pytest.fixture(scope="module")
def exact(ingested, queries):
    return patch_index.exact_search(queries, ingested["store"], ingested["map"], block_patches=1000)


@pytest.mark.parametrize("width", [3072, 40000])  # int32 sums up to 33,025 values, int64 above
def test_exact_distances_are_exact_integers(width):
    rng = np.random.default_rng(width)
    queries = rng.integers(0, 256, size=(5, width), dtype=np.uint8)
    candidates = rng.integers(0, 256, size=(5, width), dtype=np.uint8)
    queries[0], candidates[0] = 0, 255  # the largest difference everywhere: width * 255**2
    expected = [
        sum((int(a) - int(b)) ** 2 for a, b in zip(q, c, strict=True))
        for q, c in zip(queries, candidates, strict=True)
    ]
    assert expected[0] == width * 255**2
    assert patches.exact_sq_distances(queries, candidates, chunk=2).tolist() == expected


@needs_sample
def test_exact_search_is_the_brute_force_minimum(ingested, queries, exact):
    raw = ingested["store"].patches(ingested["map"], np.arange(ingested["map"].n_patches))
    raw = raw.astype(np.int32)
    for q in range(0, len(queries), 40):  # one query at a time: (4624, 3072) int32 each
        full = ((raw - queries[q].astype(np.int32)) ** 2).sum(axis=1, dtype=np.int64)
        assert exact.sq_distances[q] == full.min() and full[exact.ids[q]] == full.min()


@needs_sample
def test_exact_reranking_returns_the_brute_force_neighbour(ingested, queries, exact):
    patch_map, store = ingested["map"], ingested["store"]
    patch_index.set_threads(2)
    index = patch_index.make_index("HNSW8", 32 * 32 * 3)
    index.add(store.patches(patch_map, np.arange(patch_map.n_patches)).astype(np.float32))
    patch_index.set_search_params(index, "efSearch=16")
    found = patch_index.search_reranked(index, queries, store, patch_map, rerank_k=20)
    hit = (found.candidates == exact.ids[:, None]).any(axis=1)
    assert hit.mean() > 0.5
    np.testing.assert_array_equal(found.sq_distances[hit], exact.sq_distances[hit])
    # The chosen id's exact distance is the smallest among its candidates.
    raw = store.patches(patch_map, found.ids)
    np.testing.assert_array_equal(patches.exact_sq_distances(queries, raw), found.sq_distances)
    # An exact index with re-ranking is exact.
    flat = patch_index.make_index("Flat", 32 * 32 * 3)
    flat.add(store.patches(patch_map, np.arange(patch_map.n_patches)).astype(np.float32))
    flat_found = patch_index.search_reranked(flat, queries, store, patch_map, rerank_k=5)
    assert patch_index.recall_at_1(flat_found.sq_distances, exact.sq_distances) == 1.0
    # Re-ranking from the shards on disk (rule query_sources), in blocks of any size, is the same.
    lazy = patches.ImageStore(ingested["paths"], preload=False)
    for block in (1, 7, 1000):
        from_disk = patch_index.search_reranked(
            index, queries, lazy, patch_map, rerank_k=20, rerank_block=block
        )
        np.testing.assert_array_equal(from_disk.ids, found.ids)
        np.testing.assert_array_equal(from_disk.sq_distances, found.sq_distances)


@needs_sample
def test_ivf_training_through_a_clustering_index_is_faiss_own_training(ingested):
    """The GPU k-means path (clustering_index), exercised with a CPU flat index."""
    faiss = patch_index.faiss_module()
    patch_map, store = ingested["map"], ingested["store"]
    _, vectors = patch_index.training_sample(store, patch_map, 2000, 0)
    plain = patch_index.make_index("PCA16,IVF16,SQ8", 3072)
    plain.train(vectors)
    routed = patch_index.make_index("PCA16,IVF16,SQ8", 3072)
    flat = patch_index.cluster_on_gpus(routed, 0, make_flat=faiss.IndexFlatL2)
    assert flat is not None and faiss.extract_index_ivf(routed).clustering_index is not None
    routed.train(vectors)
    centroids = [
        faiss.extract_index_ivf(index).quantizer.reconstruct_n(0, 16) for index in (plain, routed)
    ]
    np.testing.assert_array_equal(centroids[0], centroids[1])
    # No IVF inside (HNSW, Flat), or no GPU: nothing to route.
    assert patch_index.cluster_on_gpus(patch_index.make_index("HNSW8", 3072), 2) is None
    assert patch_index.cluster_on_gpus(patch_index.make_index("IVF16,SQ8", 3072), 0) is None
    # train() leaves no clustering index behind (it would dangle once the GPU index is freed).
    index = patch_index.make_index("IVF16,SQ8", 3072)
    patch_index.train(index, vectors, 0)
    assert index.is_trained and faiss.extract_index_ivf(index).clustering_index is None


@needs_sample
def test_excluded_ids_never_come_back(ingested, queries):
    patch_map, store = ingested["map"], ingested["store"]
    flat = patch_index.make_index("Flat", 32 * 32 * 3)
    flat.add(store.patches(patch_map, np.arange(patch_map.n_patches)).astype(np.float32))
    own = patch_map.first_id(int(patch_map.db_images[0]))
    exclude = (own, own + 289)
    database_queries = store.patches(patch_map, np.arange(0, 289, 17))  # the image's own patches
    found = patch_index.search_reranked(flat, database_queries, store, patch_map, 3, exclude)
    assert ((found.ids < exclude[0]) | (found.ids >= exclude[1])).all()


def test_recall_is_tie_aware():
    found = np.array([5, 3, 7, -1, 0])
    true = np.array([5, 3, 6, 2, 0])
    assert patch_index.recall_at_1(found, true) == pytest.approx(3 / 5)
    with pytest.raises(ValueError, match="matching"):
        patch_index.recall_at_1(found, true[:2])


@needs_sample
def test_an_index_for_another_factory_or_dimension_is_rebuilt(tmp_path, ingested):
    patch_map, store = ingested["map"], ingested["store"]
    settings = {
        "factory": "Flat",
        "train_size": 500,
        "train_seed": 0,
        "add_batch": 4096,
        "use_gpu": "auto",
    }
    path, meta = str(tmp_path / "i.faiss"), str(tmp_path / "i.json")
    _, built = patch_index.ensure_index(path, meta, store, patch_map, settings)
    assert built is not None
    _, reused = patch_index.ensure_index(path, meta, store, patch_map, settings)
    assert reused is None
    settings["factory"] = "HNSW8"
    index, rebuilt = patch_index.ensure_index(path, meta, store, patch_map, settings)
    assert rebuilt is not None and rebuilt.factory == "HNSW8"
    with pytest.raises(
        patch_index.IndexMismatchError, match="dimension 3072, the config needs 768"
    ):
        patch_index.check_index(index, {"factory": "HNSW8"}, "HNSW8", 768, "i.faiss")
    with pytest.raises(patch_index.IndexMismatchError, match="factory 'HNSW8'"):
        patch_index.check_index(index, {"factory": "HNSW8"}, "Flat", 3072, "i.faiss")


# --------------------------------------------------------------------------- sources


@needs_sample
def test_source_images_put_the_match_on_the_query_and_weights_sum_to_one(ingested):
    patch_map, store = ingested["map"], ingested["store"]
    seed = sources.resize_image(store.images([patch_map.heldout_images[0]])[0], 224)
    qy, qx = sources.query_positions(25, 7)
    assert qy.size == 625 and qy.max() == 168
    queries = sources.query_patches(seed, 25, 7, 32)
    flat = patch_index.make_index("Flat", 32 * 32 * 3)
    flat.add(store.patches(patch_map, np.arange(patch_map.n_patches)).astype(np.float32))
    found = patch_index.search_reranked(flat, queries, store, patch_map, rerank_k=3)
    ids = found.ids
    images = store.images(patch_map.image[ids])
    built, weights, coverage = sources.build_sources(
        images, patch_map.y[ids], patch_map.x[ids], qy, qx, 224, 32, 112
    )
    assert built.shape == (625, 224, 224, 3) and weights.shape == (625, 224, 224)
    raw = store.patches(patch_map, ids)
    for k in range(625):
        np.testing.assert_array_equal(
            built[k, qy[k] : qy[k] + 32, qx[k] : qx[k] + 32].reshape(-1), raw[k]
        )
    assert coverage.all()
    np.testing.assert_allclose(weights.sum(axis=0), 1.0, atol=1e-5)
    # Outside its 112x112 window a source and its weight are zero.
    y0, y1 = sources.window_bounds(int(qy[312]), 32, 112)
    x0, x1 = sources.window_bounds(int(qx[312]), 32, 112)
    mask = np.zeros((224, 224), bool)
    mask[max(y0, 0) : y1, max(x0, 0) : x1] = True
    assert (weights[312][~mask] == 0).all() and (built[312][~mask] == 0).all()
    assert (weights[312][mask] > 0).all()


def test_weights_are_zero_where_no_source_covers():
    images = np.full((1, 64, 64, 3), 9, np.uint8)
    built, weights, coverage = sources.build_sources(
        images, np.array([0]), np.array([0]), np.array([0]), np.array([0]), 100, 8, 16
    )
    assert coverage[:12, :12].all() and not coverage[20:, :].any()
    assert (weights[0][coverage] == 1).all() and (weights[0][~coverage] == 0).all()
    assert (built[0][:12, :12] == 9).all()  # mirrored beyond the image border


# --------------------------------------------------------------------------- config


def test_settings_take_defaults_and_refuse_bad_keys():
    settings = _settings()
    assert settings["patches"] == {
        "size": 32,
        "stride": 14,
        "heldout_images": 50,
        "heldout_seed": 0,
    }
    assert settings["index"]["factory"] == "Flat" and settings["query"]["grid"] == 25
    with pytest.raises(ConfigError, match="patches.strid: unknown key"):
        _settings(patches={"strid": 3})
    with pytest.raises(ConfigError, match="seeds"):
        _settings(seeds=[{"name": "a", "path": "x.JPEG", "synset": "n00000001", "index": 0}])
    with pytest.raises(ConfigError, match="does not fit"):
        _settings(query={"grid": 40})
    with pytest.raises(ConfigError, match="name used twice"):
        _settings(seeds=[{"name": "a", "path": "x"}, {"name": "a", "path": "y"}])


# --------------------------------------------------------------------------- workflow


def _workflow_config(folder: Path, imagenet_section: dict | None) -> Path:
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    if imagenet_section is not None:
        config["datasets"] = {"imagenet": imagenet_section}
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _subset_section(classes: list[str], n_queries: int) -> dict:
    """An ``imagenet`` section over the 20-class subset: every image, exact index, 4 held out."""
    return {
        "classes": classes,
        "fraction": 1.0,
        "n_shards": 2,
        "patches": {"heldout_images": 4},
        "index": {"factory": "Flat", "rerank_k": 4},
        "benchmark": {"n_queries": n_queries},
    }


def _snakemake(folder: Path, config: Path, *arguments: str, env=None):
    return run_snakemake(folder, config, "--cores", "2", *arguments, env=env or dict(os.environ))


def _job_counts(output: str) -> dict[str, int]:
    counts, table = {}, False
    for line in output.splitlines():
        parts = line.split()
        if parts[:2] == ["job", "count"]:
            table = True
        elif table and len(parts) == 2 and parts[1].isdigit():
            counts[parts[0]] = int(parts[1])
    return counts


def test_the_default_config_runs_no_imagenet_job(tmp_path):
    run = _snakemake(tmp_path, _workflow_config(tmp_path, None), "-n")
    assert run.returncode == 0, run.stderr[-2000:]
    counts = _job_counts(run.stdout + run.stderr)
    assert "report" in counts
    assert not {"ingest_imagenet", "build_index", "query_sources"} & set(counts)


def test_the_paper_scale_config_builds_its_dag_without_data(tmp_path):
    paper_scale = ROOT / "config" / "imagenet.yaml"
    section = yaml.safe_load(paper_scale.read_text())["datasets"]["imagenet"]
    env = {k: v for k, v in os.environ.items() if k != "IMAGENET_ROOT"}
    config = _workflow_config(tmp_path, None)
    run = run_snakemake(
        tmp_path,
        None,
        "--configfile",  # the default config, then the paper-scale one over it
        str(config),
        str(paper_scale),
        "--cores",
        "2",
        "-n",
        "collisions_imagenet",
        env=env,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    counts = _job_counts(run.stdout + run.stderr)
    assert counts["ingest_imagenet"] == section["n_shards"]
    assert counts["build_index"] == 1 and counts["evaluate_index"] == 1
    assert counts["query_sources"] == len(section["seeds"])
    assert counts["download_vgg16"] == 1 and counts["collide_imagenet"] == 5


def test_a_bad_imagenet_section_stops_the_workflow_in_one_line(tmp_path):
    run = _snakemake(tmp_path, _workflow_config(tmp_path, {"fraction": 2}), "-n")
    assert run.returncode != 0
    assert (
        "Config error: config.yaml: datasets.imagenet.fraction: 2 is greater than the maximum of 1"
        in (run.stderr + run.stdout)
    )


@pytest.fixture(scope="module")
def odd_root(tmp_path_factory, train_root, classes):
    """The 20 classes with a PNG named .JPEG (a photo of class 21) and an empty file among them.

    Both fall in shard 0000 of two (22 files: 11 a shard), which therefore prints one line.
    """
    photo = next((train_root / sorted(p.name for p in train_root.iterdir())[N_CLASSES]).iterdir())
    return _root_with(
        tmp_path_factory.mktemp("odd_root"),
        train_root,
        classes,
        {
            f"{classes[2]}/{classes[2]}_zz_png.JPEG": _png_of(photo),
            f"{classes[3]}/{classes[3]}_zz_empty.JPEG": b"",
        },
    )


ODD_LINE = "ingest shard 0000: 1 of 11 files skipped (empty), 1 converted (PNG)"


def _assert_the_odd_files_are_counted(folder: Path, run, classes) -> None:
    """The one line in Snakemake's output, and the record of shard 0000 (shard 0001 has none)."""
    output = run.stdout + run.stderr
    assert [line for line in output.splitlines() if line.startswith("ingest shard")] == [ODD_LINE]
    record = imagenet.read_ingest_record(folder / "results/imagenet/shards/shard_0000.h5")
    assert record.skipped == [(f"{classes[3]}/{classes[3]}_zz_empty.JPEG", "empty", "0 bytes")]
    assert record.converted == [(f"{classes[2]}/{classes[2]}_zz_png.JPEG", "PNG")]
    assert (
        imagenet.read_ingest_record(folder / "results/imagenet/shards/shard_0001.h5").describe()
        is None
    )


@needs_sample
@pytest.mark.slow
def test_the_imagenet_chain_runs_end_to_end(tmp_path, odd_root, classes):
    section = _subset_section(classes, n_queries=300) | {
        "seeds": [
            {"name": "first", "synset": classes[0], "index": 0},
            {
                "name": "by_path",
                "path": f"$IMAGENET_ROOT/{classes[1]}/"
                + sorted(p.name for p in (odd_root / classes[1]).iterdir())[0],
            },
        ],
    }
    config = _workflow_config(tmp_path, section)
    env = dict(os.environ, IMAGENET_ROOT=str(odd_root))
    run = _snakemake(tmp_path, config, "imagenet", env=env)
    assert run.returncode == 0, run.stderr[-4000:]
    _assert_the_odd_files_are_counted(tmp_path, run, classes)
    summary = json.loads((tmp_path / "results/imagenet/index/summary.json").read_text())
    ingest = summary["ingest"]
    assert (ingest["n_files"], ingest["n_images"], ingest["n_shards"]) == (22, 21, 2)
    assert ingest["skipped_reasons"] == {"empty": 1} and ingest["converted_from"] == {"PNG": 1}
    for key in (
        "n_images",
        "n_patches",
        "factory",
        "recall_at_1",
        "qps",
        "qps_exact",
        "build_seconds",
        "peak_rss_mb",
    ):
        assert key in summary
    assert summary["n_images"] == 17 and summary["n_patches"] == 17 * 289  # 21 less 4 held out
    assert summary["recall_at_1"] == 1.0  # Flat + exact re-ranking is exact
    with h5py.File(tmp_path / "results/imagenet/sources/first.h5") as handle:
        assert handle["sources"].shape == (625, 224, 224, 3)
        assert handle["weights"].shape == (625, 224, 224)
        assert handle.attrs["seed_in_database"]
        positions = handle["neighbour_positions"][()]
        assert handle["neighbour_ids"].shape == (625,) and handle["distances"].shape == (625,)
        np.testing.assert_allclose(handle["weights"][()].sum(axis=0), 1, atol=1e-5)
        assert "config_digest" in handle.attrs
    with h5py.File(tmp_path / "results/imagenet/patches.h5") as handle:
        heldout = set(handle["heldout_images"][()].tolist())
    assert not heldout & set(positions[:, 0].tolist())
    # A changed factory string rebuilds the index (and what follows), never the ingest.
    section["index"]["factory"] = "HNSW8"
    _workflow_config(tmp_path, section)
    dry = _snakemake(tmp_path, config, "-n", "imagenet", env=env)
    counts = _job_counts(dry.stdout + dry.stderr)
    assert counts.get("build_index") == 1 and "ingest_imagenet" not in counts


@needs_sample
@pytest.mark.slow
def test_imagenet_collisions_run_end_to_end_on_a_small_vgg16(tmp_path, odd_root, classes):
    """collide_imagenet (micro and macro) and interpolate_imagenet through the real DAG.

    VGG-16 with random weights at a 48-pixel input (the fc1 layer is then 512 -> 4096) and
    a 3x3 query grid, so the chain takes minutes on two cores, not hours. The root holds a
    PNG named .JPEG and an empty file: the section's summary and page count them.
    """
    section = _subset_section(classes, n_queries=50) | {
        "query": {"seed_size": 48, "grid": 3, "step": 8, "window": 48},
        "seeds": [{"name": "first", "synset": classes[0], "index": 0}],
    }
    config_path = _workflow_config(tmp_path, section)
    config = yaml.safe_load(config_path.read_text())
    config["models"] = {"imagenet": {"weights": "random", "input_size": 48}}
    (tmp_path / "cases.yaml").write_text(
        yaml.safe_dump(
            [
                {
                    "name": "micro_case",
                    "table": "2a",
                    "mode": "micro",
                    "seed": {"synset": classes[2], "index": 0},
                    "target": {"synset": classes[3], "index": 0},
                },
                {
                    "name": "macro_case",
                    "table": "3a",
                    "mode": "macro",
                    "seed": "first",
                    "target": {"synset": classes[4], "index": 0},
                },
            ]
        )
    )
    for study in ("collisions_mnist", "szegedy", "fooling", "defences"):
        config["studies"][study] = {"enabled": False}  # their jobs leave the DAG
    config["studies"]["collisions_imagenet"] = {
        "enabled": True,
        "experiment_lists": ["cases.yaml"],
        "defaults": {
            "micro": {"n_corners": 2, "max_steps": 3},
            "macro": {"n_corners": 2, "max_steps": 4, "chunk_steps": 2, "checkpoint_every": 2},
        },
        "interpolate": {"n_samples": 20, "n_dataset_images": 10, "batch_size": 10},
    }
    config_path.write_text(yaml.safe_dump(config))
    env = dict(os.environ, IMAGENET_ROOT=str(odd_root))
    run = _snakemake(tmp_path, config_path, env=env)
    assert run.returncode == 0, run.stderr[-4000:]
    _assert_the_odd_files_are_counted(tmp_path, run, classes)
    corner_keys = {"seed_image", "target_image", "corners", "negative_units", "loss_pos"}
    corner_keys |= {"preact_corners", "flipped_units", "corner_probabilities", "corner_classes"}
    macro_keys = {"loss_tv", "initial_image", "top_sources", "top_source_images", "weight_max"}
    for name, mode in (("micro_case", "micro"), ("macro_case", "macro")):
        with h5py.File(tmp_path / CI_LAYOUT.path("collide", experiment=name)) as handle:
            assert corner_keys <= set(handle)
            assert (macro_keys <= set(handle)) == (mode == "macro")
            assert handle["corners"].shape == (2, 48, 48, 3)
            assert handle["preact_corners"].shape == (2, 4096)
            assert handle.attrs["mode"] == mode and handle.attrs["weights"] == "random"
            assert handle.attrs["steps_run"] == (3 if mode == "micro" else 4)
            corners = handle["corners"][()]
        assert np.isfinite(corners).all() and corners.min() >= 0 and corners.max() <= 255
        with h5py.File(tmp_path / CI_LAYOUT.path("interpolate", experiment=name)) as handle:
            assert handle["weights"].shape == (20, 2) and handle["predicted"].shape == (20,)
            attrs = dict(handle.attrs)
        assert attrs["n_samples"] == 20 and attrs["n_dataset_images"] == 10
        assert attrs["dist_dataset_mean"] > 0 and 0 <= attrs["interp_top_class_accuracy"] <= 1
    with h5py.File(tmp_path / CI_LAYOUT.path("collide", experiment="macro_case")) as handle:
        assert handle["initial_image"].shape == (48, 48, 3)
        assert handle["top_sources"].shape == (2, 8)  # 9 sources: the 8 with most weight
        assert handle.attrs["n_sources"] == 9 and handle.attrs["optimizer"] == "ema"
    assert not list((tmp_path / "results").rglob("checkpoints/**/*.h5"))  # removed when done
    # The study's report section: Tables 2-4 with the random-weight rows set apart.
    summary = json.loads((tmp_path / "results/report/summary.json").read_text())
    assert not {"collisions_mnist", "szegedy", "fooling", "defences"} & set(summary)
    assert not (tmp_path / "results/models").exists()
    assert set(summary["collisions_imagenet"]["experiments"]) == {"micro_case", "macro_case"}
    assert summary["index"]["recall_at_1"] == 1.0 and "ingest" not in summary["index"]
    ingest = summary["collisions_imagenet"]["ingest"]
    assert (ingest["n_files"], ingest["n_images"], ingest["n_skipped"]) == (22, 21, 1)
    assert ingest["skipped"] == [
        {"file": f"{classes[3]}/{classes[3]}_zz_empty.JPEG", "reason": "empty", "detail": "0 bytes"}
    ]
    assert ingest["converted"] == [
        {"file": f"{classes[2]}/{classes[2]}_zz_png.JPEG", "from": "PNG"}
    ]
    page = (tmp_path / "results/report/report.html").read_text()
    assert "micro_case — not comparable to the paper (random)" in page
    ingest_html = page[page.index("<h3>ImageNet ingest</h3>") : page.index("ImageNet patch index")]
    for shown in ("<td>22</td><td>21</td><td>1 (1 empty)</td><td>1 (1 PNG)</td>", "_zz_png.JPEG"):
        assert shown in ingest_html, shown

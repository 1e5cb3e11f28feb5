"""Exact patch search (numpy, and torch on the CPU) and the FAISS GPU start-up check.

On real ImageNet sample images (IMAGENET_SAMPLE, as tests/test_imagenet.py; skipped
with a message when unset): 12 images in two shards, 2 held out, whose seed-grid
patches are the queries. The torch tests run where PyTorch is installed (the GPU
code path, on the CPU device) and are skipped otherwise.
"""

import sys
from pathlib import Path

import numpy as np
import pytest
from test_imagenet import _sample_train

from fooled.core.config import schema_defaults
from fooled.data import faiss_gpu, imagenet, patch_index, patch_search, patches, sources

ROOT = Path(__file__).resolve().parents[1]
N_IMAGES = 12

try:
    import torch  # noqa: F401

    HAVE_TORCH = True
except ImportError:
    HAVE_TORCH = False

needs_torch = pytest.mark.skipif(not HAVE_TORCH, reason="PyTorch is not installed")


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    """12 real images in two shards; the store preloaded; queries from 2 held-out images."""
    root = _sample_train()
    if root is None:
        pytest.skip("IMAGENET_SAMPLE is unset: point it at the ImageNet sample")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir())[:N_IMAGES]
    folder = tmp_path_factory.mktemp("search")
    settings = imagenet.load_settings(
        {"root": str(root), "classes": classes, "fraction": 1.0, "n_shards": 2}
    )
    manifest = imagenet.build_manifest(settings)
    paths = []
    for shard in range(2):
        paths.append(str(folder / f"shard_{shard}.h5"))
        imagenet.write_shard(paths[-1], manifest, shard, settings)
    store = patches.ImageStore(paths, preload=True)
    return {"paths": paths, "store": store}


def _setup(database, stride: int, n_queries: int):
    patch_map = patches.build_patch_map(database["paths"], 256, 32, stride, heldout=2, seed=0)
    queries = sources.heldout_queries(
        database["store"],
        patch_map,
        {"seed_size": 224, "grid": 25, "step": 7},
        {"n_queries": n_queries, "seed": 0},
    )
    images = database["store"].images(patch_map.db_images)
    return patch_map, queries, images


def _brute_force(queries: np.ndarray, images: np.ndarray, stride: int) -> np.ndarray:
    """Every squared distance (nq, n_patches), int64, from the definition (float64 products
    of integers below 2^53 are exact, and BLAS makes them fast)."""
    raw = patch_search._numpy_cut(images, 32, stride).astype(np.float64)
    q = queries.astype(np.float64)
    products = (q @ raw.T).astype(np.int64)
    return (
        (q * q).sum(1).astype(np.int64)[:, None]
        + (raw * raw).sum(1).astype(np.int64)
        - 2 * products
    )


def test_schema_defaults_name_the_mode_and_exact_settings():
    index = schema_defaults("datasets/imagenet.schema.yaml", "index")
    assert index["mode"] == "auto"
    settings = patch_search.ExactSettings.from_config(index["exact"])
    assert settings.backend == "auto" and settings.hold == "auto" and settings.query_batch >= 625


def test_mode_resolution_without_a_gpu():
    assert patch_search.resolve_mode({"mode": "exact"}) == "exact"
    assert patch_search.resolve_mode({"mode": "approximate"}) == "approximate"
    expected = "exact" if patch_search.torch_cuda_devices() else "approximate"
    assert patch_search.resolve_mode({"mode": "auto"}) == expected
    with pytest.raises(ValueError, match="imagenet.index.mode 'fast'"):
        patch_search.resolve_mode({"mode": "fast"})


@pytest.mark.parametrize("stride", [14, 8])
def test_numpy_exact_equals_patch_index_exact_search(database, stride):
    patch_map, queries, images = _setup(database, stride, 300)
    reference = patch_index.exact_search(queries, database["store"], patch_map, 4000)
    for hold in ("images", "patches"):
        searcher = patch_search.ExactSearcher(
            [images], 32, stride, hold=hold, block_patches=3000, query_batch=128
        )
        found = searcher.search(queries)
        np.testing.assert_array_equal(found.sq_distances, reference.sq_distances)
        assert found.sq_distances.dtype == np.int64
    # Ids agree wherever the nearest patch is unique; among equals ours is the lowest id.
    distances = _brute_force(queries, images, stride)
    minimum = distances.min(axis=1)
    np.testing.assert_array_equal(minimum, found.sq_distances)
    lowest = np.argmax(distances == minimum[:, None], axis=1)
    np.testing.assert_array_equal(found.ids, lowest)
    unique = (distances == minimum[:, None]).sum(axis=1) == 1
    np.testing.assert_array_equal(found.ids[unique], reference.ids[unique])


@needs_torch
def test_torch_on_the_cpu_equals_numpy(database):
    patch_map, queries, images = _setup(database, 9, 203)  # 203 queries: padded batches
    expected = patch_search.ExactSearcher([images], 32, 9, block_patches=2500).search(queries)
    for hold in ("images", "patches"):
        found = patch_search.ExactSearcher(
            [images], 32, 9, backend="torch", hold=hold, block_patches=2500, query_batch=64
        ).search(queries)
        np.testing.assert_array_equal(found.sq_distances, expected.sq_distances)
        np.testing.assert_array_equal(found.ids, expected.ids)
    # The GPU's way of cutting (unfold on the device), run on the CPU device.
    searcher = patch_search.ExactSearcher(
        [images], 32, 9, backend="torch", hold="images", block_patches=2500, query_batch=64
    )
    searcher.shards[0].host_cut = False
    found = searcher.search(queries)
    np.testing.assert_array_equal(found.sq_distances, expected.sq_distances)
    np.testing.assert_array_equal(found.ids, expected.ids)


@pytest.mark.parametrize("backend", ["numpy", pytest.param("torch", marks=needs_torch)])
def test_sharded_equals_unsharded(database, backend):
    patch_map, queries, images = _setup(database, 10, 150)
    whole = patch_search.ExactSearcher([images], 32, 10, backend=backend).search(queries)
    parts = [images[a:b] for a, b in patch_search.split_images(len(images), 3)]
    sharded = patch_search.ExactSearcher(
        parts, 32, 10, backend=backend, devices=["cpu"] * 3, block_patches=1000
    ).search(queries)
    np.testing.assert_array_equal(sharded.sq_distances, whole.sq_distances)
    np.testing.assert_array_equal(sharded.ids, whole.ids)
    assert sharded.n_patches == patch_map.n_patches


@pytest.mark.parametrize("backend", ["numpy", pytest.param("torch", marks=needs_torch)])
def test_ties_go_to_the_lowest_id_across_shards(database, backend):
    """A database holding one real image twice: every query's twin in the copy loses."""
    _, _, images = _setup(database, 14, 10)
    twice = np.concatenate([images[:1], images[:1]])
    cells = 17 * 17
    queries = patch_search._numpy_cut(twice[:1], 32, 14)[::7]  # exact copies of patches
    found = patch_search.ExactSearcher(
        [twice[:1], twice[1:]], 32, 14, backend=backend, devices=["cpu", "cpu"]
    ).search(queries)
    np.testing.assert_array_equal(found.sq_distances, 0)
    assert (found.ids < cells).all()
    # Excluding the first copy's ids leaves the second copy's.
    excluded = patch_search.ExactSearcher([twice], 32, 14, backend=backend).search(
        queries, exclude_ids=(0, cells)
    )
    np.testing.assert_array_equal(excluded.sq_distances, 0)
    np.testing.assert_array_equal(excluded.ids, found.ids + cells)


def test_exclusion_matches_brute_force(database):
    patch_map, queries, images = _setup(database, 11, 100)
    exclude = (2 * patch_map.cells_per_image, 5 * patch_map.cells_per_image + 17)
    found = patch_search.ExactSearcher([images], 32, 11, block_patches=700).search(
        queries, exclude_ids=exclude
    )
    distances = _brute_force(queries, images, 11)
    distances[:, exclude[0] : exclude[1]] = np.iinfo(np.int64).max
    np.testing.assert_array_equal(found.sq_distances, distances.min(axis=1))
    np.testing.assert_array_equal(found.ids, distances.argmin(axis=1))


@needs_torch
def test_patch_norms_from_the_integral_image_are_exact(database):
    import torch

    _, _, images = _setup(database, 14, 10)
    for stride in (1, 3, 14):
        part = images[:2, :80, :80]
        centered = patch_search.centered_int8(patch_search._numpy_cut(part, 32, stride))
        expected = patch_search.sq_norms(centered)
        found = patch_search.window_sq_norms_torch(torch.from_numpy(part), 32, stride)
        np.testing.assert_array_equal(found.numpy(), expected)


def test_exact_mode_gives_the_workflow_its_result_types(database):
    patch_map, queries, _ = _setup(database, 14, 200)
    settings = schema_defaults("datasets/imagenet.schema.yaml", "index")
    settings |= {"mode": "exact", "exact": settings["exact"] | {"backend": "numpy"}}
    search = patch_search.open_search(settings, patch_map, database["store"])
    found = search.search(queries, exclude_ids=(0, patch_map.cells_per_image))
    truth = search.exact(queries)
    assert isinstance(found, patch_index.SearchResult)
    assert isinstance(truth, patch_index.ExactResult)
    assert found.candidates.shape == (len(queries), 1) and found.rerank_seconds == 0.0
    assert (found.ids >= patch_map.cells_per_image).all()
    summary = patch_search.index_summary(search, search.search(queries), truth, 625)
    assert summary["mode"] == "exact" and summary["recall_at_1"] == 1.0
    assert summary["exact_backend"] == "numpy" and summary["seconds_per_seed_image"] > 0


# --------------------------------------------------------------------------- FAISS GPU check

H200 = faiss_gpu.GpuInfo("NVIDIA H200", (9, 0), "torch")
ERROR_209 = (
    "Faiss assertion 'err__ == cudaSuccess' failed in void faiss::gpu::runL2Norm(...) at "
    "/project/faiss/faiss/gpu/impl/L2Norm.cu:257; details: CUDA error 209 no kernel image "
    "is available for execution on the device"
)


def test_this_cpu_build_is_detected_and_falls_back():
    check = faiss_gpu.check_faiss_gpu()
    assert check.status in ("cpu-build", "no-gpu"), check.message
    assert "\n" not in check.message and "FAISS" in check.message
    assert faiss_gpu.usable_gpus("auto") == 0 and patch_index.gpu_count("auto") == 0
    assert faiss_gpu.usable_gpus(False) == 0
    with pytest.raises(faiss_gpu.FaissGpuError, match="use_gpu is true but FAISS"):
        faiss_gpu.usable_gpus(True)


def test_a_build_without_kernels_stops_with_one_line():
    """A child process that says what the probe says, then dies as FAISS dies on Hopper."""
    script = (
        "import json, os, sys\n"
        "print('FAISS_PROBE ' + json.dumps({'version': '1.14.1', 'gpu_build': True,"
        " 'n_gpus': 1, 'library': '', 'cuda_libraries': ['libcublas.so.13',"
        " 'libcudart.so.12']}), flush=True)\n"
        f"sys.stderr.write({ERROR_209!r} + '\\n'); sys.stderr.flush(); os.abort()\n"
    )
    returncode, stdout, stderr = faiss_gpu.run_probe(script, sys.executable, timeout=60)
    assert returncode != 0
    check = faiss_gpu.classify(returncode, stdout, stderr, H200)
    assert check.status == "no-kernels"
    message = check.message
    assert "\n" not in message
    assert message.startswith("FAISS 1.14.1 (")
    assert "libcudart.so.12" in message and "libcublas.so.13" in message
    assert "NVIDIA H200, compute capability 9.0 (sm_90)" in message
    assert "install a FAISS build with sm_90 code" in message


def test_probe_outcomes_are_classified():
    def probe(**report):
        import json

        return "FAISS_PROBE " + json.dumps({"version": "1.15.0", "cuda_libraries": []} | report)

    ok = faiss_gpu.classify(0, probe(gpu_build=True, n_gpus=2, searched=True), "", H200)
    assert ok.status == "ok" and ok.n_gpus == 2 and ok.usable
    no_gpu = faiss_gpu.classify(0, probe(gpu_build=True, n_gpus=0), "", faiss_gpu.GpuInfo())
    assert no_gpu.status == "no-gpu" and "sees no GPU" in no_gpu.message
    raised = faiss_gpu.classify(
        0, probe(gpu_build=True, n_gpus=1, error="CUDA error 209 no kernel image"), "", H200
    )
    assert raised.status == "no-kernels"
    crashed = faiss_gpu.classify(-11, "", "Segmentation fault\n", H200)
    assert crashed.status == "error" and "exit -11" in crashed.message
    assert faiss_gpu.missing_kernels("invalid device function")
    assert not faiss_gpu.missing_kernels("out of memory")
    unknown = faiss_gpu.GpuInfo()
    assert "compute capability unknown" in faiss_gpu.no_kernels_message("FAISS 1.0 (x)", unknown)


@needs_torch
def test_gpu_benchmark_runs_on_the_cpu_at_a_tiny_scale(tmp_path, monkeypatch):
    """benchmarks/bench_gpu_search.py, as the GPU machine runs it, on 4 real JPEGs."""
    import importlib.util
    import json

    root = _sample_train()
    if root is None:
        pytest.skip("IMAGENET_SAMPLE is unset")
    spec = importlib.util.spec_from_file_location(
        "bench_gpu_search", ROOT / "benchmarks" / "bench_gpu_search.py"
    )
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "figures.json"
    arguments = "--device cpu --images 5 --image-size 64 --stride 4 --seeds 1 --train 300"
    monkeypatch.setattr(
        sys,
        "argv",
        ["bench_gpu_search.py", *arguments.split(), "--root", str(root)]
        + ["--approximate", "8~5", "--json", str(out)],
    )
    bench.main()
    figures = json.loads(out.read_text())
    assert figures["n_patches"] == 4 * 9 * 9 and figures["queries_per_seed"] == 625
    assert all(run["same_as_first"] for run in figures["exact"].values())
    assert set(figures["exact"]) == {"images", "patches"}
    (approximate,) = figures["approximate"]
    assert 0.0 <= approximate["recall_at_1"] <= 1.0 and approximate["seconds_per_seed"] > 0
    assert figures["faiss_check"]["status"] in ("cpu-build", "no-gpu")


def test_approximate_mode_searches_the_saved_index(database, tmp_path):
    """open_search reads the built index (here Flat: recall 1) and reports the mode."""
    from fooled.core import h5io

    patch_map, queries, images = _setup(database, 14, 120)
    settings = schema_defaults("datasets/imagenet.schema.yaml", "index")
    settings |= {"mode": "approximate", "factory": "Flat", "rerank_k": 3, "use_gpu": False}
    settings["exact"] = settings["exact"] | {"backend": "numpy"}
    index = patch_index.make_index("Flat", 32 * 32 * 3)
    index.add(patch_search._numpy_cut(images, 32, 14).astype(np.float32))
    index_path, record_path = str(tmp_path / "patches.faiss"), str(tmp_path / "index.h5")
    patch_index.save_index(index, index_path)
    with h5io.atomic_h5(record_path) as out:
        h5io.set_attrs(out, {"factory": "Flat", "dimension": 3072})
    search = patch_search.open_search(
        settings, patch_map, database["store"], index_path, record_path
    )
    assert patch_search.index_needed(settings) and search.mode == "approximate"
    found = search.search(queries)
    summary = patch_search.index_summary(search, found, search.exact(queries), 625)
    assert summary["mode"] == "approximate" and summary["factory"] == "Flat"
    assert summary["recall_at_1"] == 1.0 and found.candidates.shape == (len(queries), 3)
    with pytest.raises(ValueError, match="approximate mode needs the built index"):
        patch_search.open_search(settings, patch_map, database["store"])

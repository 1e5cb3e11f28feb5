"""Exact and approximate patch search at 37M patches on one GPU: seconds per seed image, recall.

One command for the GPU test machine (docs/patch_search.md, "GPU benchmark"): it
needs PyTorch, NumPy and Pillow only (no FAISS, no TensorFlow, no h5py, nothing
installed), reads JPEGs from a folder, and prints

- the database: images, patches, bytes;
- exact search (fooled.data.patch_search, torch._int_mm on int8): seconds per
  625 queries (one seed image on the authors' grid), holding the database as
  images (patches cut on the GPU per block) and as resident int8 patches;
- each approximate setting: seconds per 625 queries and recall@1 against exact
  (tie-aware). Without FAISS on the machine, an approximate setting is what a
  ``PCA{d},Flat`` index with exact re-ranking computes: the ``k`` nearest
  patches in a PCA-d projection (float32, exact over every patch), re-ranked in
  integers. IVF and SQ8 codes can only lose more, so this is the upper bound of
  what the configured FAISS index can reach at this scale.

The layout follows issue 11: ``--images`` JPEGs resized to ``--image-size``
(600), stride 1, ``--seeds`` of them held out (seeded), each held-out image
loaded at 224x224 and cut on the 25x25 grid with step 7 (625 queries). With
125 images: 115 x 569^2 = 37.2M patches (114 GB as int8, one H200).

Here, on the CPU and small (the same code; a test runs it):

    PYTHONPATH=src python benchmarks/bench_gpu_search.py --device cpu --images 20 \\
        --image-size 128 --seeds 2 --root ../shared/data/imagenet-sample/train
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from fooled.data import patch_search

SEED_SIZE, GRID, STEP, PATCH = 224, 25, 7, 32


def jpeg_paths(root: str, n: int) -> list[Path]:
    """The first ``n`` JPEGs under ``root`` in sorted order (one per class in the sample)."""
    paths = sorted(
        p for p in Path(root).rglob("*") if p.suffix.lower() in (".jpeg", ".jpg") and p.is_file()
    )
    if len(paths) < n:
        sys.exit(f"bench_gpu_search: {root} holds {len(paths)} JPEGs, {n} asked for")
    return paths[:n]


def load_rgb(path: Path, size: int) -> np.ndarray:
    """As fooled.data.imagenet.load_rgb (RGB, bilinear resize), without its h5py/jsonschema."""
    from PIL import Image

    with Image.open(path) as image:
        rgb = image.convert("RGB")
    return np.asarray(rgb.resize((size, size), Image.Resampling.BILINEAR), np.uint8)


def seed_queries(seed: np.ndarray) -> np.ndarray:
    """625 query patches of a 224x224 seed on the authors' grid (sources.query_patches)."""
    axis = np.arange(GRID) * STEP
    rows = [seed[y : y + PATCH, x : x + PATCH].reshape(-1) for y in axis for x in axis]
    return np.stack(rows)


def synchronize(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def patches_by_id(images, ids, grid: int, stride: int):
    """int8 (centered) patches of database ids, gathered from the images on their device."""
    import torch

    cells = grid * grid
    image = ids // cells
    cell = ids % cells
    y = (cell // grid) * stride
    x = (cell % grid) * stride
    offsets = torch.arange(PATCH, device=images.device)
    rows = (y[:, None] + offsets[None, :])[:, :, None]  # (n, 32, 1)
    cols = (x[:, None] + offsets[None, :])[:, None, :]  # (n, 1, 32)
    picked = images[image[:, None, None], rows, cols]  # (n, 32, 32, C)
    return (picked.reshape(len(ids), -1).to(torch.int16) - 128).to(torch.int8)


class PcaShortlist:
    """An exact PCA-d shortlist of every patch, re-ranked exactly: a PCA{d},Flat index."""

    def __init__(self, images, grid: int, stride: int, dims: int, train: int, block: int):
        import torch

        self.images, self.grid, self.stride, self.block = images, grid, stride, block
        device = images.device
        n = images.shape[0] * grid * grid
        generator = torch.Generator(device="cpu").manual_seed(0)
        sample = torch.randint(0, n, (min(train, n),), generator=generator).to(device)
        vectors = patches_by_id(images, sample, grid, stride).float()
        self.mean = vectors.mean(0)
        centred = vectors - self.mean
        if len(centred) < centred.shape[1]:  # few samples (a CPU test): SVD of the samples
            _, _, rows = torch.linalg.svd(centred.double(), full_matrices=False)
            self.components = rows[:dims].T.float().contiguous()  # (D, d)
        else:  # eigenvectors of the D x D covariance, largest first
            covariance = centred.T @ centred / len(centred)
            _, vectors_ = torch.linalg.eigh(covariance.double())
            self.components = vectors_[:, -dims:].flip(1).float().contiguous()  # (D, d)
        started = time.perf_counter()
        projected = []
        for _, chunk in self._blocks(max(1, block // 8)):  # float32 copies: 12 KB a patch
            projected.append((chunk.float() - self.mean) @ self.components)
        self.projected = torch.cat(projected)  # (n, d) float32
        self.norms = (self.projected * self.projected).sum(1)
        synchronize(str(device))
        self.build_seconds = time.perf_counter() - started
        self.n = n

    def _blocks(self, block: int):
        per = max(1, block // (self.grid * self.grid))
        for start in range(0, self.images.shape[0], per):
            raw = patch_search.cut_on_device(self.images[start : start + per], PATCH, self.stride)
            yield start * self.grid * self.grid, raw

    def search(self, queries: np.ndarray, k: int):
        """(ids, exact squared distances) of each query's best of its k PCA neighbours."""
        import torch

        device = self.images.device
        q = torch.from_numpy(queries).to(device)
        projected = (q.float() - self.mean) @ self.components
        best_scores, best_ids = None, None
        for start in range(0, self.n, self.block):
            part = self.projected[start : start + self.block]
            scores = self.norms[start : start + self.block][None, :] - 2 * projected @ part.T
            values, local = torch.topk(scores, min(k, part.shape[0]), dim=1, largest=False)
            ids = local + start
            if best_scores is None:
                best_scores, best_ids = values, ids
            else:
                merged_scores = torch.cat([best_scores, values], 1)
                merged_ids = torch.cat([best_ids, ids], 1)
                best_scores, order = torch.topk(merged_scores, k, dim=1, largest=False)
                best_ids = torch.gather(merged_ids, 1, order)
        candidates = patches_by_id(self.images, best_ids.reshape(-1), self.grid, self.stride)
        centred_q = (q.to(torch.int16) - 128).to(torch.int32)
        difference = candidates.to(torch.int32).reshape(len(q), k, -1) - centred_q[:, None, :]
        exact = (difference * difference).sum(2)
        # Ties: the lowest id among the candidates at the smallest exact distance.
        key = exact.to(torch.int64) * (self.n + 1) + best_ids
        pick = torch.argmin(key, dim=1)
        rows = torch.arange(len(q), device=device)
        return best_ids[rows, pick].cpu().numpy(), exact[rows, pick].cpu().numpy().astype(np.int64)


def time_per_seed(search, seeds: list[np.ndarray], device: str) -> tuple[float, list]:
    """Mean seconds per seed image (625 queries), after one warm-up; the results per seed."""
    search(seeds[0])
    synchronize(device)
    results, total = [], 0.0
    for queries in seeds:
        started = time.perf_counter()
        results.append(search(queries))
        synchronize(device)
        total += time.perf_counter() - started
    return total / len(seeds), results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=os.environ.get("IMAGENET_ROOT", ".gpu-bench/jpegs"))
    parser.add_argument("--device", default="cuda", help="cuda, cuda:N or cpu")
    parser.add_argument("--images", type=int, default=125)
    parser.add_argument("--image-size", type=int, default=600)
    parser.add_argument("--stride", type=int, default=1)
    parser.add_argument("--seeds", type=int, default=10, help="held-out seed images (625 q each)")
    parser.add_argument("--holds", nargs="+", default=["images", "patches"])
    parser.add_argument(
        "--approximate",
        nargs="*",
        default=["64~10", "64~30", "64~100", "128~10", "128~100"],
        help="PCA dims~re-rank depth settings (PCA{d},Flat + exact re-rank)",
    )
    parser.add_argument("--train", type=int, default=200000, help="PCA training patches")
    parser.add_argument("--block", type=int, default=0, help="patches per block (0: default)")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    parser.add_argument("--json", default=None, help="write the figures here too")
    arguments = parser.parse_args()
    import torch

    if arguments.threads:
        torch.set_num_threads(arguments.threads)
    device = arguments.device
    started = time.perf_counter()
    paths = jpeg_paths(arguments.root, arguments.images)
    rng = np.random.default_rng(0)
    held = set(rng.choice(len(paths), size=arguments.seeds, replace=False).tolist())
    database = np.stack(
        [load_rgb(p, arguments.image_size) for i, p in enumerate(paths) if i not in held]
    )
    seeds = [seed_queries(load_rgb(paths[i], SEED_SIZE)) for i in sorted(held)]
    grid = (arguments.image_size - PATCH) // arguments.stride + 1
    n_patches = database.shape[0] * grid * grid
    record: dict = {
        "device": device,
        "gpu": torch.cuda.get_device_name(device) if device.startswith("cuda") else "cpu",
        "n_images": int(database.shape[0]),
        "image_size": arguments.image_size,
        "stride": arguments.stride,
        "n_patches": int(n_patches),
        "int8_patch_bytes": int(n_patches * PATCH * PATCH * 3),
        "n_seeds": len(seeds),
        "queries_per_seed": int(seeds[0].shape[0]),
        "decode_seconds": time.perf_counter() - started,
    }
    print(
        f"database: {database.shape[0]} images at {arguments.image_size}x{arguments.image_size}, "
        f"stride {arguments.stride}: {n_patches:,} patches ({n_patches * 3072 / 1e9:.1f} GB as "
        f"int8); {len(seeds)} held-out seed images x {seeds[0].shape[0]} queries; decoded in "
        f"{record['decode_seconds']:.1f} s; {record['gpu']}",
        flush=True,
    )
    from fooled.data import faiss_gpu

    check = faiss_gpu.check_faiss_gpu()
    record["faiss_check"] = {"status": check.status, "message": check.message}
    print(f"FAISS check: {check.status}: {check.message}", flush=True)

    backend = "torch"
    exact_ids = exact_sq = None
    record["exact"] = {}
    for hold in arguments.holds:
        tick = time.perf_counter()
        searcher = None
        try:
            searcher = patch_search.ExactSearcher(
                [database],
                PATCH,
                arguments.stride,
                backend=backend,
                devices=[device],
                hold=hold,
                block_patches=arguments.block,
                query_batch=1024,
            )
            synchronize(device)
            setup = time.perf_counter() - tick
            seconds, results = time_per_seed(searcher.search, seeds, device)
        except torch.cuda.OutOfMemoryError as error:
            print(f"exact, hold {hold}: does not fit ({' '.join(str(error).split())[:160]})")
            del searcher
            torch.cuda.empty_cache()
            continue
        sq = np.concatenate([r.sq_distances for r in results])
        ids = np.concatenate([r.ids for r in results])
        if exact_sq is None:
            exact_ids, exact_sq = ids, sq
        same = bool((sq == exact_sq).all() and (ids == exact_ids).all())
        record["exact"][hold] = {
            "seconds_per_seed": seconds,
            "setup_seconds": setup,
            "same_as_first": same,
        }
        print(
            f"exact, hold {hold:<8} {seconds:8.3f} s per 625 queries (setup {setup:.1f} s); "
            f"results identical to the first exact run: {same}",
            flush=True,
        )
        del searcher
        if device.startswith("cuda"):
            torch.cuda.empty_cache()

    record["approximate"] = []
    if exact_sq is not None and arguments.approximate:
        images = torch.from_numpy(database).to(device)
        block = arguments.block or (1 << 22 if device.startswith("cuda") else 1 << 15)
        by_dims: dict[int, list[int]] = {}
        for setting in arguments.approximate:
            dims, _, k = setting.partition("~")
            by_dims.setdefault(int(dims), []).append(int(k or 10))
        for dims, depths in by_dims.items():
            shortlist = PcaShortlist(images, grid, arguments.stride, dims, arguments.train, block)
            for k in depths:

                def search(queries, shortlist=shortlist, k=k):
                    return shortlist.search(queries, k)

                seconds, results = time_per_seed(search, seeds, device)
                found_sq = np.concatenate([r[1] for r in results])
                recall = float((found_sq <= exact_sq).mean())
                record["approximate"].append(
                    {
                        "setting": f"PCA{dims},Flat + exact re-rank {k}",
                        "dims": dims,
                        "rerank_k": k,
                        "seconds_per_seed": seconds,
                        "recall_at_1": recall,
                        "build_seconds": shortlist.build_seconds,
                    }
                )
                print(
                    f"approximate PCA{dims},Flat, re-rank {k:<4} {seconds:8.3f} s per 625 "
                    f"queries, recall@1 {recall:.3f} (projection {shortlist.build_seconds:.1f} s)",
                    flush=True,
                )
            del shortlist
            if device.startswith("cuda"):
                torch.cuda.empty_cache()
    record["total_seconds"] = time.perf_counter() - started
    print(f"total {record['total_seconds']:.0f} s", flush=True)
    if arguments.json:
        Path(arguments.json).write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()

"""Source images for the macro-level optimisation: seed patches -> shifted training images.

The macro-level input is a per-pixel softmax mixture of K source images
(SPEC section 2). The authors' sources: cut the 224x224 seed into patches on a
25x25 grid with a 7-pixel step (625 queries); for each, take the training
image of its nearest database patch, shift it so that the matched patch lands
on the query's position, keep only a window of the patch plus its
surroundings (zero elsewhere), and start the mixture weights from a separable
tent over that window, normalised over the sources at every pixel.

Geometry used here (docs/artifacts.md, README "ImageNet patch database"):
the query patch is ``size`` pixels square at (step*i, step*j) on the seed;
the source is the 256x256 database image, unscaled, shifted by (query - match)
so the matched patch coincides with the query patch pixel for pixel; the
window is ``window`` pixels square centred on the patch's centre; beyond the
training image's border, inside the window, the image is mirrored (as the
authors do) before masking.
"""

from __future__ import annotations

import numpy as np

from fooled.data.patches import cut_at


def query_positions(grid: int, step: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-left (y, x) of the seed's query patches in raster order (625 for 25 x 7)."""
    axis = np.arange(grid, dtype=np.int64) * step
    ys, xs = np.meshgrid(axis, axis, indexing="ij")
    return ys.ravel(), xs.ravel()


def query_patches(seed: np.ndarray, grid: int, step: int, size: int) -> np.ndarray:
    """The seed's query patches as uint8 rows, in the order of :func:`query_positions`."""
    ys, xs = query_positions(grid, step)
    return cut_at(seed[None], np.zeros(ys.size, np.int64), ys, xs, size)


def window_bounds(position: int, size: int, window: int) -> tuple[int, int]:
    """Half-open [start, stop) of the window centred on a patch at ``position`` (one axis)."""
    start = position + size // 2 - window // 2
    return start, start + window


def tent(window: int) -> np.ndarray:
    """1 - |d| / half-width over the window's pixel centres: positive inside, 0 beyond."""
    half = window / 2.0
    distance = np.abs(np.arange(window) + 0.5 - half)
    return (1.0 - distance / half).astype(np.float64)


def build_sources(
    images: np.ndarray,
    match_y: np.ndarray,
    match_x: np.ndarray,
    query_y: np.ndarray,
    query_x: np.ndarray,
    seed_size: int,
    size: int,
    window: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shifted, windowed source images and their normalised initial weights.

    ``images[k]`` is the training image of query ``k``'s match, whose patch's
    top-left is (match_y[k], match_x[k]); it is placed so that this corner
    lands on (query_y[k], query_x[k]) of a ``seed_size`` canvas. Returns
    sources (K, S, S, 3) uint8, weights (K, S, S) float32 summing to one
    wherever any window covers a pixel (zero elsewhere), and coverage (S, S)
    bool.
    """
    count, height, width, channels = images.shape
    margin = window  # enough mirrored border for any window reaching beyond the image
    padded = np.pad(images, ((0, 0), (margin, margin), (margin, margin), (0, 0)), mode="symmetric")
    sources = np.zeros((count, seed_size, seed_size, channels), np.uint8)
    raw = np.zeros((count, seed_size, seed_size), np.float64)
    profile = tent(window)
    for k in range(count):
        y0, y1 = window_bounds(int(query_y[k]), size, window)
        x0, x1 = window_bounds(int(query_x[k]), size, window)
        cy0, cy1 = max(y0, 0), min(y1, seed_size)  # the window's part on the canvas
        cx0, cx1 = max(x0, 0), min(x1, seed_size)
        dy = int(match_y[k]) - int(query_y[k])  # canvas row r shows image row r + dy
        dx = int(match_x[k]) - int(query_x[k])
        sy0, sx0 = cy0 + dy + margin, cx0 + dx + margin
        if sy0 < 0 or sx0 < 0 or cy1 + dy + margin > padded.shape[1]:
            raise ValueError(f"source {k}: shift ({dy}, {dx}) leaves the mirrored border")
        sources[k, cy0:cy1, cx0:cx1] = padded[k, sy0 : sy0 + cy1 - cy0, sx0 : sx0 + cx1 - cx0]
        raw[k, cy0:cy1, cx0:cx1] = np.outer(
            profile[cy0 - y0 : cy1 - y0], profile[cx0 - x0 : cx1 - x0]
        )
    total = raw.sum(axis=0)
    coverage = total > 0
    weights = np.divide(raw, total, out=np.zeros_like(raw), where=coverage[None])
    return sources, weights.astype(np.float32), coverage


def resize_image(image: np.ndarray, size: int) -> np.ndarray:
    """Bilinear resize of one uint8 RGB image (the seed's preparation)."""
    from PIL import Image

    if image.shape[0] == size and image.shape[1] == size:
        return image
    resized = Image.fromarray(image).resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(resized, np.uint8)


def heldout_queries(store, patch_map, query: dict, benchmark: dict) -> np.ndarray:
    """Recall queries: seed-grid patches of the held-out images, a seeded sample of them.

    Each held-out image is prepared as a seed is (resized to ``seed_size``)
    and cut on the seed grid, so the benchmark asks what query_sources asks.
    """
    size = patch_map.size
    rows = []
    for image in store.images(patch_map.heldout_images):
        seed = resize_image(image, query["seed_size"])
        rows.append(query_patches(seed, query["grid"], query["step"], size))
    queries = np.concatenate(rows)
    n = min(benchmark["n_queries"], len(queries))
    rng = np.random.default_rng(benchmark["seed"])
    return queries[np.sort(rng.choice(len(queries), size=n, replace=False))]

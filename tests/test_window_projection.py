"""Filling a PCA-prefixed FAISS index through FFT projections of whole images."""

from types import SimpleNamespace

import numpy as np
import pytest

from fooled.data import patch_index
from fooled.data.patches import cut_patches, grid_positions
from fooled.data.window_projection import WindowProjector

SIZE, IMAGE, STRIDE = 4, 14, 2
GRID = SimpleNamespace(size=SIZE, image_size=IMAGE, stride=STRIDE)  # what a PatchMap gives


def _images(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, IMAGE, IMAGE, 3), dtype=np.uint8)


def _patches(images: np.ndarray) -> np.ndarray:
    positions = grid_positions(IMAGE, SIZE, STRIDE)
    return cut_patches(images, positions, SIZE).astype(np.float32)


def _trained(factory: str):
    index = patch_index.make_index(factory, SIZE * SIZE * 3)
    patch_index.train(index, _patches(_images(6, 0)), 0)
    return index


@pytest.mark.parametrize("factory", ["PCA8,Flat", "PCA6,IVF2,SQ8"])
def test_projections_are_the_index_transform_of_every_patch(factory):
    index = _trained(factory)
    projector = WindowProjector(index, GRID)
    image = _images(1, 1)[0]
    transform = patch_index.faiss_module().downcast_index(index).chain.at(0)
    expected = transform.apply(_patches(image[None]))
    projected = projector.project(image)
    assert (
        projected.shape
        == expected.shape
        == (((IMAGE - SIZE) // STRIDE + 1) ** 2, expected.shape[1])
    )
    scale = np.abs(expected).max()  # float32 rounding of sums of values up to 255
    np.testing.assert_allclose(projected, expected, rtol=1e-4, atol=1e-5 * scale)


def test_a_filled_index_searches_as_one_filled_with_the_patches():
    images = _images(3, 2)
    direct, filled = _trained("PCA8,Flat"), _trained("PCA8,Flat")
    direct.add(_patches(images))
    projector = WindowProjector(filled, GRID)
    for image in images:
        projector.add(projector.project(image))
    assert filled.ntotal == direct.ntotal == len(_patches(images))
    queries = _patches(_images(1, 3))
    found_direct = direct.search(queries, 3)
    found_filled = filled.search(queries, 3)
    np.testing.assert_array_equal(found_filled[1], found_direct[1])
    np.testing.assert_allclose(found_filled[0], found_direct[0], rtol=1e-4)


@pytest.mark.parametrize("factory", ["Flat", "IVF2,Flat"])
def test_an_index_without_a_linear_transform_is_refused(factory):
    with pytest.raises(ValueError, match="linear transform"):
        WindowProjector(_trained(factory), GRID)

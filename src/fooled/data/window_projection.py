"""Filling a PCA-prefixed patch index through FFT projections of whole images.

An index whose factory string starts with a linear transform (``PCA128,IVF1024,SQ8``:
FAISS's ``IndexPreTransform`` of a ``PCAMatrix`` and the ``IVF1024,SQ8`` codes)
maps each patch ``p`` to ``A @ p + b`` before coding it. Each of the ``d`` rows
of ``A`` is a ``size x size x 3`` filter, so the projections of *every* grid
patch of an image are ``d`` correlations of the image with those filters: ``d``
FFTs per image (about 4e8 flops for a 256x256 image at stride 1, ``d = 128``)
instead of cutting 50,625 patches and multiplying them by ``A`` (4e10 flops and
600 MB of float32 patches). :class:`WindowProjector` computes them and adds them
to the index's codes, so the index that is searched is exactly the one the
factory string built; the projections equal ``A @ p + b`` up to float32
rounding (``tests/test_patch_search.py`` checks them against FAISS's own
``apply``). ``benchmarks/bench_index.py scale index --fill fft`` fills the
37M-patch index this way (docs/patch_search.md).
"""

from __future__ import annotations

import numpy as np

from fooled.data.patch_index import faiss_module
from fooled.data.patches import PatchMap


class WindowProjector:
    """The projections of every grid patch of an image, and their addition to the index.

    ``index`` is a trained ``IndexPreTransform`` whose one transform is linear
    (a factory string such as ``PCA128,IVF1024,SQ8`` or ``PCA64,Flat``);
    ``patch_map`` gives the patch size, the image size and the stride.
    """

    def __init__(self, index, patch_map: PatchMap) -> None:
        from scipy import fft

        faiss = faiss_module()
        wrapper = faiss.downcast_index(index)
        if not isinstance(wrapper, faiss.IndexPreTransform) or wrapper.chain.size() != 1:
            raise ValueError(
                "window projections need an index of one linear transform and codes "
                "(a factory string such as 'PCA128,IVF1024,SQ8')"
            )
        transform = faiss.downcast_VectorTransform(wrapper.chain.at(0))
        if not isinstance(transform, faiss.LinearTransform) or not transform.is_trained:
            raise ValueError("the index's transform is not a trained linear transform")
        size, image_size, stride = patch_map.size, patch_map.image_size, patch_map.stride
        if transform.d_in != size * size * 3:
            raise ValueError(f"the transform takes {transform.d_in} values, a patch has {size}^2*3")
        d = transform.d_out
        self.index, self.codes, self.fft = wrapper, faiss.downcast_index(wrapper.index), fft
        self.matrix = faiss.vector_to_array(transform.A).reshape(d, size, size, 3)
        bias = faiss.vector_to_array(transform.b) if transform.have_bias else np.zeros(d)
        self.offset = bias.astype(np.float32)
        self.size, self.image_size, self.stride = size, image_size, stride
        self.shape = (image_size, image_size)
        # Correlation = convolution with the flipped filter; its spectrum per (filter, channel).
        flipped = self.matrix[:, ::-1, ::-1, :].transpose(0, 3, 1, 2)  # (d, 3, size, size)
        self.spectra = fft.rfft2(flipped, s=self.shape, axes=(2, 3)).astype(np.complex64)

    def project(self, image: np.ndarray) -> np.ndarray:
        """(cells, d) float32 projections of every grid patch, in raster (id) order."""
        channels = image.astype(np.float32).transpose(2, 0, 1)  # (3, H, W)
        spectrum = self.fft.rfft2(channels, axes=(1, 2)).astype(np.complex64)
        product = np.einsum("chw,dchw->dhw", spectrum, self.spectra)
        full = self.fft.irfft2(product, s=self.shape, axes=(1, 2))  # (d, H, W) full convolution
        last = self.size - 1  # full-convolution index of the window starting at 0
        positions = np.arange(0, self.image_size - self.size + 1, self.stride) + last
        valid = full[:, positions][:, :, positions]  # (d, gy, gx)
        return (valid.reshape(valid.shape[0], -1).T + self.offset).astype(np.float32)

    def add(self, projections: np.ndarray) -> None:
        """Add projected patches (the next ids, in order) to the index's codes."""
        self.codes.add(np.ascontiguousarray(projections, np.float32))
        self.index.ntotal = self.codes.ntotal

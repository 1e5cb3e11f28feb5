"""Where the shared datasets' files lie: MNIST and the ImageNet patch database."""

from __future__ import annotations

from fooled.core.layout import Layout, artifacts

MNIST = Layout(
    "resources/mnist",
    artifacts(
        mnist=(
            "mnist.h5",
            "MNIST, all 70,000 digits as uint8 (train/ and test/ images and labels), "
            "downloaded and checked against the raw files' SHA-256",
        ),
    ),
    "MNIST (rule download_mnist)",
)

IMAGENET = Layout(
    "results/imagenet",
    artifacts(
        manifest=(
            "manifest.h5",
            "the seeded per-class sample: files, classes, labels and the shard of each image",
        ),
        shard=(
            "shards/shard_{shard}.h5",
            "256x256 RGB images of one shard (uint8, checksummed chunks), with the files "
            "skipped or converted on the way",
        ),
        patch_map=(
            "patches.h5",
            "every 32x32 patch's (image, y, x): the patches themselves are cut from the shards",
        ),
        index=("index/patches.faiss", "the FAISS index of the patches (not in exact mode)"),
        index_record=("index/index.h5", "what the index was built from and with"),
        evaluation=(
            "index/evaluation.h5",
            "recall@1 of the index against exact search on held-out images, per query",
        ),
        index_summary=(
            "index/summary.json",
            "the evaluation summed up, and the ingest's skipped and converted files",
        ),
        sources=(
            "sources/{seed}.h5",
            "a seed image's source images: each patch's nearest database patch, composed",
        ),
    ),
    "the ImageNet patch database (rules imagenet_manifest ... query_sources)",
)

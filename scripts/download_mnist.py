"""Snakemake script for rule ``download_mnist``: MNIST into one verified HDF5 file.

Thin on purpose: the mirrors, retries, checksums and IDX parsing live in
``fooled.data`` (tested there); this file only maps Snakemake's
``params``/``output``/``log`` onto it and writes ``resources/mnist/mnist.h5``
(layout in docs/artifacts.md) atomically, so a failed or killed download never
leaves a file that Snakemake would consider up to date.
"""

import os
import sys
from collections.abc import Mapping
from typing import Any

from fooled.core.h5io import provenance, write_artifact
from fooled.core.stage import fail, stage_log
from fooled.data.mnist import DownloadError, download_mnist, resolve_mirrors


def main(
    output: str,
    settings: Mapping[str, Any],
    log_path: str,
    env: Mapping[str, str] = os.environ,
) -> int:
    """Download, verify and write MNIST; return the process exit status.

    ``settings`` holds ``mirrors``, ``retries``, ``backoff_seconds`` and
    ``timeout_seconds``. A failure is logged (and printed to stderr) as the
    one-line DownloadError message, which lists every source tried.
    """
    settings = dict(settings)
    with stage_log(log_path, "download_mnist") as logger:
        mirrors = resolve_mirrors(list(settings["mirrors"]), env)
        logger.info("sources to try: %s", mirrors)
        try:
            arrays, source, digests = download_mnist(
                mirrors,
                retries=int(settings["retries"]),
                backoff_seconds=float(settings["backoff_seconds"]),
                timeout_seconds=float(settings["timeout_seconds"]),
                progress=sys.stderr.isatty(),
            )
        except DownloadError as error:
            fail(logger, "download_mnist", error)
            return 1
        write_artifact(
            output,
            arrays,
            provenance(settings, seeds={}),
            {"source": source, "sha256_raw": digests},
        )
        logger.info("wrote %s from %s", output, source)
        return 0


if __name__ == "__main__":
    smk = globals()["snakemake"]  # injected by Snakemake's script directive
    sys.exit(main(smk.output[0], dict(smk.params.settings), smk.log[0]))

"""What every workflow script shares: its log file and its one-line failure.

Each rule's log records the host, the SLURM job id when there is one (so a
user can match outputs to cluster jobs) and the stage's progress; an
expected failure (bad input, corrupt artifact, failed download) ends the job
with one line naming the cause instead of a traceback.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import time
from collections.abc import Callable

EXPECTED_ERRORS: tuple[type[BaseException], ...] = (ValueError, RuntimeError, OSError, KeyError)


def run_stage(name: str, log_path: str, body: Callable[[logging.Logger], None]) -> None:
    """Run ``body`` with logging to ``log_path``; exit 1 with one line on an expected error."""
    handler = logging.FileHandler(log_path, mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logger = logging.getLogger(name)
    logger.info(
        "host %s, pid %d, SLURM_JOB_ID %s",
        socket.gethostname(),
        os.getpid(),
        os.environ.get("SLURM_JOB_ID", "-"),
    )
    started = time.perf_counter()
    try:
        body(logger)
    except EXPECTED_ERRORS as error:
        message = " ".join(str(error).split())
        logger.error("%s", message)
        print(f"{name}: {message}", file=sys.stderr)
        sys.exit(1)
    finally:
        logger.info("stage took %.2f s", time.perf_counter() - started)
        root.removeHandler(handler)
        handler.close()

"""What every workflow script shares: its log file and its one-line failure.

Each rule's log records the host, the SLURM job id when there is one (so a
user can match outputs to cluster jobs) and the stage's progress; an
expected failure (bad input, corrupt artifact, failed download) ends the job
with one line naming the cause instead of a traceback.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator

EXPECTED_ERRORS: tuple[type[BaseException], ...] = (ValueError, RuntimeError, OSError, KeyError)


@contextlib.contextmanager
def stage_log(log_path: str, name: str) -> Iterator[logging.Logger]:
    """Log to ``log_path`` for the duration of the stage, starting with where it runs."""
    handler = logging.FileHandler(log_path, mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    previous_level = root.level
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
        yield logger
    finally:
        logger.info("stage took %.2f s", time.perf_counter() - started)
        root.removeHandler(handler)
        root.setLevel(previous_level)
        handler.close()


def fail(logger: logging.Logger, name: str, error: BaseException) -> None:
    """Log and print an expected failure as one line."""
    message = " ".join(str(error).split())
    logger.error("%s", message)
    print(f"{name}: {message}", file=sys.stderr)


def run_stage(name: str, log_path: str, body: Callable[[logging.Logger], None]) -> None:
    """Run ``body`` with logging to ``log_path``; exit 1 with one line on an expected error."""
    with stage_log(log_path, name) as logger:
        try:
            body(logger)
        except EXPECTED_ERRORS as error:
            fail(logger, name, error)
            sys.exit(1)

"""What every workflow job shares: its inputs as a :class:`Job`, its log, its one-line failure.

A rule's script is three lines: it hands ``snakemake`` and one stage function
to :func:`run_script`. The stage function takes a :class:`Job` (plain names
to paths and settings) and a logger, so tests call it directly on small
files, with no Snakemake object and no script.

Each rule's log records the host, the SLURM job id when there is one (so a
user can match outputs to cluster jobs) and the stage's progress; an expected
failure (bad input, corrupt artifact, failed download) ends the job with one
line naming the cause instead of a traceback. What the person running the workflow must
see although the job succeeded is printed as one line too (:func:`notice`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

EXPECTED_ERRORS: tuple[type[BaseException], ...] = (ValueError, RuntimeError, OSError, KeyError)


class Names(dict):
    """A mapping whose keys also read as attributes: ``job.input.model``."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError as error:
            raise AttributeError(f"no '{name}' here (have: {', '.join(self)})") from error


@dataclass
class Job:
    """One job's named inputs, outputs, params and wildcards, its log path and threads."""

    input: Names = field(default_factory=Names)
    output: Names = field(default_factory=Names)
    params: Names = field(default_factory=Names)
    wildcards: Names = field(default_factory=Names)
    log: str = os.devnull
    threads: int = 1

    @classmethod
    def make(
        cls,
        input: Mapping[str, Any] | None = None,
        output: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        wildcards: Mapping[str, Any] | None = None,
        log: str = os.devnull,
        threads: int = 1,
    ) -> Job:
        return cls(
            Names(input or {}),
            Names(output or {}),
            Names(params or {}),
            Names(wildcards or {}),
            log,
            threads,
        )

    @classmethod
    def from_snakemake(cls, smk: Any) -> Job:
        """The named entries of Snakemake's ``snakemake`` object (rules name every file)."""

        def named(namedlist: Any) -> Names:
            return Names({key: _plain(value) for key, value in namedlist.items()})

        return cls(
            named(smk.input),
            named(smk.output),
            named(smk.params),
            named(smk.wildcards),
            str(smk.log[0]) if len(smk.log) else os.devnull,
            int(smk.threads),
        )


def as_paths(value: Any) -> list[str]:
    """A named input as a list of paths: Snakemake gives one path as a string, several as a
    list; an absent input (None) is an empty list."""
    if value is None:
        return []
    if isinstance(value, str | os.PathLike):
        return [str(value)]
    return [str(item) for item in value]


def _plain(value: Any) -> Any:
    """Snakemake's lists and path strings as plain Python values."""
    if isinstance(value, str):
        return str(value)
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


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
    startup = process_age()
    if startup is not None:
        # bench_workflow.py sums these lines: what a job spends before its stage starts.
        logger.info(
            "start-up %.2f s (interpreter, Snakemake's preamble, imports; TensorFlow loaded: %s)",
            startup,
            _tensorflow_loaded(),
        )
    started = time.perf_counter()
    try:
        yield logger
    finally:
        logger.info(
            "stage took %.2f s (TensorFlow loaded: %s)",
            time.perf_counter() - started,
            _tensorflow_loaded(),
        )
        root.removeHandler(handler)
        root.setLevel(previous_level)
        handler.close()


def _tensorflow_loaded() -> str:
    return "yes" if "tensorflow" in sys.modules else "no"


def process_age() -> float | None:
    """Seconds since this process started (Linux's /proc), None where that is not known."""
    try:
        with open("/proc/self/stat", encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        with open("/proc/uptime", encoding="ascii") as handle:
            uptime = float(handle.read().split()[0])
        return max(0.0, uptime - int(fields[19]) / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return None


def notice(logger: logging.Logger, message: str) -> None:
    """Log ``message`` and print it as one line to the job's stderr, which Snakemake shows.

    The stage's log goes to the rule's log file only; a notice is for what the person
    running the workflow must see without opening logs (input that was skipped).
    """
    logger.warning("%s", message)
    print(message, file=sys.stderr, flush=True)


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


Stage = Callable[[Job, logging.Logger], None]


def run_script(smk: Any, stage: Stage) -> None:
    """A rule's whole script: the stage function on the job Snakemake describes."""
    job = Job.from_snakemake(smk)
    run_stage(smk.rule, job.log, lambda logger: stage(job, logger))

"""Progress a person can follow on long stages: log lines with an estimate, a bar on a terminal.

A stage that runs for more than a few seconds (training, optimisation in
chunks, an index build, an evolutionary run) reports through one
:class:`Progress`: every update logs the step, the figures the stage passes
(loss, confidence, ...) and an estimate of the time left, at most every
``min_interval`` seconds plus the last step, so a log stays readable for a
20,000-step run. When standard error is a terminal a tqdm bar is drawn as
well; under Snakemake and SLURM (no terminal) only the log lines are written.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Mapping
from typing import Any, TextIO

LOGGER = logging.getLogger(__name__)


def format_seconds(seconds: float) -> str:
    """``75`` -> ``1 min 15 s``; short and unambiguous in a log line."""
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _figures(metrics: Mapping[str, Any]) -> str:
    parts = []
    for name, value in metrics.items():
        if isinstance(value, float):
            parts.append(f"{name} {value:.4g}")
        else:
            parts.append(f"{name} {value}")
    return ", ".join(parts)


class Progress:
    """Counts ``done`` out of ``total`` units of work (steps, generations, images, ...).

    Use as a context manager or call :meth:`close`; ``update(n, **metrics)``
    advances by ``n`` and reports the metrics given.
    """

    def __init__(
        self,
        total: int,
        what: str,
        unit: str = "step",
        logger: logging.Logger = LOGGER,
        min_interval: float = 5.0,
        stream: TextIO | None = None,
        start: int = 0,
        clock=time.perf_counter,
    ) -> None:
        self.total = max(0, int(total))
        self.what = what
        self.unit = unit
        self.logger = logger
        self.min_interval = min_interval
        self.done = int(start)
        self._start_done = int(start)
        self._clock = clock
        self._started = clock()
        self._last_log = -float("inf")
        stream = sys.stderr if stream is None else stream
        self._bar = None
        if getattr(stream, "isatty", lambda: False)():
            from tqdm import tqdm

            self._bar = tqdm(
                total=self.total, initial=self.done, desc=what, unit=unit, file=stream, leave=False
            )

    def eta_seconds(self) -> float | None:
        """Time left at the rate seen since this Progress started (None before any work)."""
        worked = self.done - self._start_done
        if worked <= 0:
            return None
        rate = (self._clock() - self._started) / worked
        return rate * max(0, self.total - self.done)

    def line(self, metrics: Mapping[str, Any]) -> str:
        elapsed = self._clock() - self._started
        eta = self.eta_seconds()
        text = f"{self.what}: {self.unit} {self.done}/{self.total}"
        if metrics:
            text += f"; {_figures(metrics)}"
        text += f"; {format_seconds(elapsed)} elapsed"
        if eta is not None and self.done < self.total:
            text += f", about {format_seconds(eta)} left"
        return text

    def restart_at(self, done: int) -> None:
        """Continue from ``done`` (a resumed run): the estimate uses this run's rate only."""
        self.done = self._start_done = int(done)
        self._started = self._clock()
        if self._bar is not None:
            self._bar.n = self.done
            self._bar.refresh()

    def update(self, n: int = 1, **metrics: Any) -> None:
        self.done = min(self.total, self.done + int(n)) if self.total else self.done + int(n)
        if self._bar is not None:
            self._bar.update(n)
            if metrics:
                self._bar.set_postfix_str(_figures(metrics), refresh=False)
        now = self._clock()
        if now - self._last_log >= self.min_interval or self.done >= self.total:
            self._last_log = now
            self.logger.info("%s", self.line(metrics))

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

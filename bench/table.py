"""The bench's figures: each printed as it is measured, then one table at the end, and as JSON.

A figure may carry a target (at most that value); the table says whether it held. A figure measured
over rounds may carry its spread (the middle half of its per-round readings), printed beside it: on a
noisy machine a verdict close to its target can turn with the next run. ``BENCH_JSON``
names the JSON file (default ``bench-results.json`` in the working directory, git-ignored).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import TextIO


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str
    target: float | None = None
    spread: tuple[float, float] | None = None

    @property
    def shown(self) -> str:
        spread = f" [{self.spread[0]:.2f}-{self.spread[1]:.2f}]" if self.spread else ""
        return f"{self.value:.2f}{spread}"

    @property
    def verdict(self) -> str:
        if self.target is None:
            return ""
        return "held" if self.value <= self.target else "MISSED"


FIGURES: list[Figure] = []
FIGURES_OUT: TextIO = sys.stdout  # where figures go; ``side_output`` sends everything else elsewhere


def say(line: str) -> None:
    """A line for the reader among the figures (a step that could not finish, where a log went)."""
    print(line, file=FIGURES_OUT, flush=True)


def report(
    name: str,
    value: float,
    unit: str,
    target: float | None = None,
    spread: tuple[float, float] | None = None,
) -> None:
    figure = Figure(name, value, unit, target, spread)
    FIGURES.append(figure)
    verdict = f"  (target <= {target:g}: {figure.verdict})" if target is not None else ""
    say(f"{name:<60} {figure.shown:>12} {unit}{verdict}")


def report_scaling(
    report: Callable[..., None],
    what: str,
    unit: str,
    sizes: tuple[int, int],
    peaks: list[float],
    seconds: list[float],
) -> None:
    """A worker's peak memory (MiB) and CPU (s) at a small and a large size, and the two ratios with
    their targets: peak within 1.2x, CPU within 1.3x of linear."""
    small, large = sizes
    for size, peak, cpu in zip(sizes, peaks, seconds, strict=True):
        report(f"{what}, {size} {unit}, peak Python allocations", peak, "MiB")
        report(f"{what}, {size} {unit}, CPU", cpu, "s")
    report(f"{what} peak, {large} / {small} {unit}", peaks[1] / peaks[0], "ratio", 1.2)
    report(
        f"{what} CPU, {large} / {small} {unit}, vs linear",
        seconds[1] / seconds[0] / (large / small),
        "ratio",
        1.3,
    )


def finish() -> None:
    """Print the table of every figure and write them as JSON."""
    print(f"\n{'figure':<60} {'value [rounds]':>12} {'unit':<12} {'target':>8}  held")
    for figure in FIGURES:
        target = "" if figure.target is None else f"{figure.target:g}"
        print(f"{figure.name:<60} {figure.shown:>12} {figure.unit:<12} {target:>8}  {figure.verdict}")
    path = os.environ.get("BENCH_JSON", "bench-results.json")
    with open(path, "w", encoding="utf-8") as out:
        json.dump([asdict(f) | {"held": f.verdict or None} for f in FIGURES], out, indent=2)
    print(f"\nwritten to {path}")


@contextmanager
def side_output() -> Iterator[str]:
    """Everything but the figures goes to a file (``BENCH_LOG``, default ``bench-output.log``): the
    functions' log lines, moto's and the local stack gateway's request lines, moto's state machine
    errors. So the terminal shows the figures alone.

    File descriptors 1 and 2 point at the file meanwhile (werkzeug's handlers and the functions'
    loggers hold stream objects of their own, some made before this runs, some after); the figures
    are written to a copy of the original descriptor 1 (``FIGURES_OUT``)."""
    global FIGURES_OUT
    path = os.path.abspath(os.environ.get("BENCH_LOG", "bench-output.log"))
    sys.stdout.flush()
    sys.stderr.flush()
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    FIGURES_OUT = open(saved[1], "w", closefd=False)  # noqa: SIM115 - closed below
    with open(path, "ab") as log:
        for fd in saved:
            os.dup2(log.fileno(), fd)
    say(f"(everything else the bench prints goes to {path})")
    try:
        yield path
    finally:
        FIGURES_OUT.close()
        FIGURES_OUT = sys.stdout
        sys.stdout.flush()
        sys.stderr.flush()
        for fd, copy in saved.items():
            os.dup2(copy, fd)
            os.close(copy)

"""The bench's figures: each printed as it is measured, then one table at the end, and as JSON.

A figure may carry a target (at most that value); the table says whether it held. ``BENCH_JSON``
names the JSON file (default ``bench-results.json`` in the working directory, git-ignored).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str
    target: float | None = None

    @property
    def verdict(self) -> str:
        if self.target is None:
            return ""
        return "held" if self.value <= self.target else "MISSED"


FIGURES: list[Figure] = []


def report(name: str, value: float, unit: str, target: float | None = None) -> None:
    figure = Figure(name, value, unit, target)
    FIGURES.append(figure)
    verdict = f"  (target <= {target:g}: {figure.verdict})" if target is not None else ""
    print(f"{name:<60} {value:>12.2f} {unit}{verdict}", flush=True)


def finish() -> None:
    """Print the table of every figure and write them as JSON."""
    print(f"\n{'figure':<60} {'value':>12} {'unit':<12} {'target':>8}  held")
    for figure in FIGURES:
        target = "" if figure.target is None else f"{figure.target:g}"
        print(f"{figure.name:<60} {figure.value:>12.2f} {figure.unit:<12} {target:>8}  {figure.verdict}")
    path = os.environ.get("BENCH_JSON", "bench-results.json")
    with open(path, "w", encoding="utf-8") as out:
        json.dump([asdict(f) | {"held": f.verdict or None} for f in FIGURES], out, indent=2)
    print(f"\nwritten to {path}")

"""Overlapping I/O-bound calls (S3 GETs, listings) while keeping results in order and memory bounded."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

WORKERS = 8
WINDOW = 32


def ordered_map(
    function: Callable[[T], R], items: Iterable[T], workers: int = WORKERS, window: int = WINDOW
) -> Iterator[R]:
    """``function(item)`` for each item, ``workers`` at a time, yielded in the items' order; at most
    ``window`` calls are in flight or waiting to be consumed, so a long input never piles up in memory.
    boto3 clients are thread-safe, so ``function`` may share one."""
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="io") as pool:
        pending: deque[Future[R]] = deque()
        for item in items:
            pending.append(pool.submit(function, item))
            if len(pending) >= window:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()

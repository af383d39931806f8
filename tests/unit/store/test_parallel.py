"""ordered_map: overlapped calls, results in input order, a bounded number in flight."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from callproof.store.parallel import ordered_map


def test_results_keep_the_input_order_whatever_finishes_first() -> None:
    def slow_for_small(n: int) -> int:
        time.sleep(0.001 * (10 - n % 10))
        return n * n

    assert list(ordered_map(slow_for_small, range(50), workers=4, window=8)) == [n * n for n in range(50)]


def test_the_input_is_consumed_lazily_and_in_flight_calls_are_bounded() -> None:
    pulled = 0
    lock = threading.Lock()
    running = 0
    most = 0

    def source() -> Iterator[int]:
        nonlocal pulled
        for n in range(1_000):
            pulled += 1
            yield n

    def work(n: int) -> int:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.0005)
        with lock:
            running -= 1
        return n

    results = ordered_map(work, source(), workers=3, window=5)
    assert [next(results) for _ in range(3)] == [0, 1, 2]
    assert pulled <= 3 + 5  # never reads far ahead of the consumer
    assert list(results) == list(range(3, 1_000))
    assert most <= 3


def test_an_error_reaches_the_consumer() -> None:
    def fail_on_seven(n: int) -> int:
        if n == 7:
            raise ValueError("seven")
        return n

    with pytest.raises(ValueError, match="seven"):
        list(ordered_map(fail_on_seven, range(20)))

"""Rate limits of the public routes (privacy requests, phone codes, the typed-number opt-out form).

A limit counts one action per party (a client address, an email, a phone number) per clock hour,
across every org: a stranger who sprays one victim's number at many orgs, or many numbers from one
address, meets the same counter. Parties are stored only as keyed hashes (HMAC-SHA256), so no
address or number is kept by the counters.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from callproof.errors import TooManyRequests
from callproof.ids import utc_now

WINDOW_SECONDS = 3600


class RateCounter(Protocol):
    def hit(self, key: str, window: str, limit: int) -> bool:
        """Count one action of ``key`` (an opaque hash) in ``window``; False once over ``limit``
        (that action is not counted)."""
        ...


class RateLimits:
    def __init__(
        self, counter: RateCounter, key: Callable[[], bytes], clock: Callable[[], datetime] = utc_now
    ) -> None:
        self._counter = counter
        self._key = key
        self._clock = clock

    def charge(self, action: str, per_hour: int, party: str) -> None:
        """Count ``action`` for ``party`` (e.g. ``ip:203.0.113.9``); ``TooManyRequests`` beyond
        ``per_hour`` in this clock hour."""
        window = self._clock().strftime("%Y%m%d%H")
        key = hmac.new(self._key(), f"rate\x00{action}\x00{party}".encode(), hashlib.sha256).hexdigest()
        if not self._counter.hit(key, window, per_hour):
            raise TooManyRequests("too many attempts from here or for this address; try again in an hour")

"""Secrets Manager values, cached per Lambda environment for a few minutes (so rotations land)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

DEFAULT_TTL_SECONDS = 300.0


class CachedJsonSecret:
    """A JSON object secret, read on first use and again after ``ttl`` seconds."""

    def __init__(
        self,
        client: Callable[[], Any],
        secret_id: str,
        ttl: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._secret_id = secret_id
        self._ttl = ttl
        self._clock = clock
        self._value: dict[str, Any] | None = None
        self._read_at = 0.0

    def get(self) -> dict[str, Any]:
        now = self._clock()
        if self._value is None or now - self._read_at >= self._ttl:
            text = self._client().get_secret_value(SecretId=self._secret_id)["SecretString"]
            value = json.loads(text)
            self._value = value if isinstance(value, dict) else {"value": value}
            self._read_at = now
        return self._value

    def field(self, name: str) -> str:
        value = self.get().get(name)
        return value if isinstance(value, str) else ""

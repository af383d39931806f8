"""Secrets Manager values through Powertools' parameters utility, cached per Lambda environment for
``max_age`` seconds (five minutes, so a rotation lands within them).

Each secret gets its own ``SecretsProvider`` (the provider behind ``parameters.get_secret``) on the
lazily built client of ``callproof.aws``: nothing is created before the first read, the client has the
stack's retry settings, and tests that reset the clients and the wiring get a fresh cache with them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.parameters import SecretsProvider

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

MAX_AGE_SECONDS = 300


class CachedJsonSecret:
    """A JSON object secret, read on first use and again once ``max_age`` seconds have passed."""

    def __init__(
        self,
        client: Callable[[], SecretsManagerClient],
        secret_id: str,
        max_age: int = MAX_AGE_SECONDS,
    ) -> None:
        self._client = client
        self._secret_id = secret_id
        self._max_age = max_age
        self._provider: SecretsProvider | None = None

    def get(self) -> dict[str, Any]:
        if self._provider is None:
            self._provider = SecretsProvider(boto3_client=self._client())
        value = self._provider.get(self._secret_id, max_age=self._max_age, transform="json")
        return value if isinstance(value, dict) else {"value": value}

    def field(self, name: str) -> str:
        value = self.get().get(name)
        return value if isinstance(value, str) else ""

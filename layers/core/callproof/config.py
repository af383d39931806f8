"""Per-function settings: pydantic models read from the environment, validated on first use.

This module holds the machinery and the settings every REST function reads (the policy gate,
idempotency); each domain's settings models are in ``callproof.settings.<domain>``, imported by the
builder that reads them, so a function creates only its own settings classes (cold start, ADR 0013).

Each function declares a settings model whose field aliases are environment variable names. A missing
or bad setting raises ``ConfigurationError`` naming the variable, the first time the settings are read
(never at import time). The local stack runs every function in one process, so it overlays each
function's own environment with ``function_environment`` while that function runs.
"""

import contextvars
import os
from collections import ChainMap
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

_overlay: contextvars.ContextVar[Mapping[str, str]] = contextvars.ContextVar(
    "callproof_env", default=MappingProxyType({})
)
_cache: dict[tuple[type[BaseModel], tuple[tuple[str, str], ...]], BaseModel] = {}

SettingsT = TypeVar("SettingsT", bound="Settings")


class ConfigurationError(RuntimeError):
    """A required setting is missing or invalid."""


class Settings(BaseModel):
    """Base for function settings: fields are read by their alias (the environment variable name)."""

    # defer_build: a function validates one or two of these; building all at import costs its cold start
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=False, defer_build=True)


class PolicyGateSettings(Settings):
    """Read by every authenticated REST function (``callproof.http``'s policy-consent check)."""

    accounts_table: str = Field(alias="ACCOUNTS_TABLE", min_length=3)
    # How long an environment trusts its copy of the current policy (a new significant version is
    # enforced within this); the e2e tests set 0.
    policy_cache_seconds: float = Field(default=60.0, alias="POLICY_CACHE_SECONDS", ge=0, le=300)


class IdempotencySettings(Settings):
    """Read by the functions serving creates, on the first one sent with an ``Idempotency-Key``
    (``callproof.idempotency``)."""

    idempotency_table: str = Field(alias="IDEMPOTENCY_TABLE", min_length=3)


# A local double's address: set only by the local stack (the settings that take one say so).
LOCAL_URL = r"^http://127\.0\.0\.1:\d+/?$"


def environment() -> Mapping[str, str]:
    """The environment as the running function sees it (local overlay first, then the process)."""
    return ChainMap(dict(_overlay.get()), dict(os.environ))


@contextmanager
def function_environment(env: Mapping[str, str]) -> Iterator[None]:
    """Run a block with ``env`` layered over the process environment (used by the local stack)."""
    token = _overlay.set(dict(env))
    try:
        yield
    finally:
        _overlay.reset(token)


def load(model: type[SettingsT]) -> SettingsT:
    """Validate and cache ``model`` from the current environment; fail with the variable's name."""
    key = (model, tuple(sorted(_overlay.get().items())))
    cached = _cache.get(key)
    if cached is not None:
        return cached  # type: ignore[return-value]
    try:
        settings = model.model_validate(dict(environment()))
    except ValidationError as exc:
        problems = "; ".join(f"{_alias(model, str(err['loc'][0]))}: {err['msg']}" for err in exc.errors())
        raise ConfigurationError(f"invalid settings for {model.__name__}: {problems}") from None
    _cache[key] = settings
    return settings


def clear_cache() -> None:
    """Forget validated settings (tests that change the environment call this)."""
    _cache.clear()


def _alias(model: type[BaseModel], name: str) -> str:
    field = model.model_fields.get(name)
    return field.alias if field is not None and field.alias else name

"""callproof.store.secrets on moto: a JSON secret read through Powertools' parameters utility, once
per ``max_age`` (a rotation lands after it), nothing built before the first read."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.parameters import GetParameterError, base

from callproof.store.secrets import MAX_AGE_SECONDS, CachedJsonSecret
from tests.integration.moto_env import REGION, bare_aws


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with bare_aws(monkeypatch):
        yield boto3.client("secretsmanager", region_name=REGION)


def reads_of(client: Any) -> list[str]:
    """The SecretId of every GetSecretValue the client sends from now on."""
    seen: list[str] = []
    client.meta.events.register(
        "before-parameter-build.secrets-manager.GetSecretValue",
        lambda params, **_: seen.append(params["SecretId"]),
    )
    return seen


def later(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """Move the parameters utility's clock (it stamps cache entries with ``datetime.now()``)."""
    shifted = timedelta(seconds=seconds)

    class Later(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return datetime.now(tz) + shifted

    monkeypatch.setattr(base, "datetime", Later)


def test_read_once_then_again_after_max_age(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    arn = client.create_secret(Name="twilio", SecretString=json.dumps({"auth_token": "old"}))["ARN"]
    reads = reads_of(client)
    secret = CachedJsonSecret(lambda: client, arn)
    assert secret.field("auth_token") == "old"
    client.put_secret_value(SecretId=arn, SecretString=json.dumps({"auth_token": "new"}))
    assert secret.field("auth_token") == "old"  # cached: one read in five minutes
    assert reads == [arn]
    later(monkeypatch, MAX_AGE_SECONDS - 5)
    assert secret.field("auth_token") == "old"
    later(monkeypatch, MAX_AGE_SECONDS + 1)
    assert secret.field("auth_token") == "new"  # the rotation landed
    assert reads == [arn, arn]


def test_max_age_is_the_secrets_own(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    arn = client.create_secret(Name="key", SecretString=json.dumps({"key": "k1"}))["ARN"]
    short = CachedJsonSecret(lambda: client, arn, max_age=10)
    assert short.get() == {"key": "k1"}
    client.put_secret_value(SecretId=arn, SecretString=json.dumps({"key": "k2"}))
    later(monkeypatch, 11)
    assert short.get() == {"key": "k2"}


def test_nothing_is_built_before_the_first_read(client: Any) -> None:
    built: list[Any] = []

    def factory() -> Any:
        built.append(client)
        return client

    arn = client.create_secret(Name="lazy", SecretString=json.dumps({"key": "k"}))["ARN"]
    secret = CachedJsonSecret(factory, arn)
    assert built == []
    secret.get()
    secret.get()
    assert built == [client]


def test_fields_that_are_missing_or_not_text_read_empty(client: Any) -> None:
    arn = client.create_secret(Name="odd", SecretString=json.dumps({"n": 3, "s": "x"}))["ARN"]
    secret = CachedJsonSecret(lambda: client, arn)
    assert (secret.field("s"), secret.field("n"), secret.field("missing")) == ("x", "", "")
    scalar = client.create_secret(Name="scalar", SecretString=json.dumps("plain"))["ARN"]
    assert CachedJsonSecret(lambda: client, scalar).get() == {"value": "plain"}


def test_a_missing_secret_fails_loudly(client: Any) -> None:
    with pytest.raises(GetParameterError, match="ResourceNotFoundException"):
        CachedJsonSecret(lambda: client, "arn:aws:secretsmanager:us-east-1:123456789012:secret:gone").get()

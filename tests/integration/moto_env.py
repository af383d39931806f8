"""A bare moto account for adapter tests that need a resource or two, not the whole template
(``aws_stack`` provisions every resource of infra/template.yaml, about a second per test)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from moto import mock_aws

REGION = "us-east-1"


@contextmanager
def bare_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto's dummy credentials and region, no endpoint override, inside ``mock_aws``."""
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield

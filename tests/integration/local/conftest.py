"""Fixtures for the local stack's own tests: the fixture template served by an in-process stack.

Each test module gets its own stack (moto on a free port, gateway on a free port); stopping it resets
moto and restores the process environment, so modules stay independent under pytest-xdist.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from callproof_local.stack import LocalStack
from tests.fixtures.local_stack import FIXTURE_TEMPLATE


@pytest.fixture(scope="module")
def local_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("callproof-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CALLPROOF_LOCAL_HOME", str(home))
        yield home


@pytest.fixture(scope="module")
def stack(local_home: Path) -> Iterator[LocalStack]:
    with LocalStack(FIXTURE_TEMPLATE, 0) as running:
        yield running


@pytest.fixture(scope="module")
def aws(stack: LocalStack) -> Callable[[str], Any]:
    """boto3 clients for the stack's moto server: ``aws("dynamodb")``."""
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    return lambda service: session.client(service, endpoint_url=stack.moto_url)  # type: ignore[call-overload]

"""The ``local_stack`` fixture: ``callproof local --port 0`` on the real infra/template.yaml.

Session-wide; teardown stops it with SIGINT (Ctrl-C) and expects exit code 0. Use ``local_stack.url``
and ``local_stack.token(org, user, roles)``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.local_stack.process import RunningStack, start_stack, stop_stack


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    stack = start_stack(tmp_path_factory.mktemp("callproof-e2e"))
    yield stack
    assert stop_stack(stack) == 0, stack.output()

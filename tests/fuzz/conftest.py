"""The fuzz tier (schemathesis over docs/openapi.json) on its own local stack.

The stack is the e2e tier's ``local_stack`` fixture (``callproof local --port 0`` on the real
infra/template.yaml, seeded with ``demo-org``); imported here it is a separate session fixture, so the
fuzzer's thousands of writes never share a stack with the e2e or browser tests.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.conftest import local_stack  # noqa: F401 - the same local stack fixture

OUTCOMES = pytest.StashKey[dict[str, str]]()  # a test item's outcome per phase (setup, call, teardown)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keeps each phase's report on the test item, so ``make fuzz``'s report can say which failed."""
    report = yield
    item.stash.setdefault(OUTCOMES, {})[report.when] = report.outcome
    return report

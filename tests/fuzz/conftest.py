"""The fuzz tier (schemathesis over docs/openapi.json) on its own local stack.

The stack is the e2e tier's ``local_stack`` fixture (``callproof local --port 0`` on the real
infra/template.yaml, seeded with ``demo-org``); imported here it is a separate session fixture, so the
fuzzer's thousands of writes never share a stack with the e2e or browser tests.
"""

from __future__ import annotations

from tests.e2e.conftest import local_stack  # noqa: F401 - the same local stack fixture

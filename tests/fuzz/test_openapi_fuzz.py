"""Schemathesis over every operation of docs/openapi.json, against the running local stack (issue 13).

Each operation gets the examples, coverage and fuzzing phases of schemathesis, in both generation
modes (valid and invalid data), a bounded number of cases per operation (``FUZZ_EXAMPLES``, default
``DEFAULT_EXAMPLES``; ``make fuzz`` runs thousands) and a fixed seed (``FUZZ_SEED``), so a failure in
CI replays locally. Authenticated operations are called as ``demo-user`` of the seeded ``demo-org``
(admin, rep and compliance: most requests reach the service code, not the authorizer); the public
routes are fuzzed a second time as a stranger with no token.

The checks are the one list ``CHECKS`` below.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from callproof_local.seed import DEMO_ORG, DEMO_ROLES, DEMO_USER
from tests.fixtures.local_stack.process import RunningStack, new_client
from tests.fuzz.conftest import OUTCOMES

pytestmark = pytest.mark.e2e

DEFAULT_EXAMPLES = 15
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", DEFAULT_EXAMPLES))
SEED = int(os.environ.get("FUZZ_SEED", "13"))

# The checks every response must pass.
CHECKS: list[Any] = [
    not_a_server_error,  # no 5xx, no crash, on any input, valid or not
    negative_data_rejection,  # data the document forbids is refused with a 4xx
    status_code_conformance,  # every status code answered is documented for the operation
    content_type_conformance,  # every Content-Type answered is documented
    response_schema_conformance,  # every body answered matches its documented schema
]

# Refusals that negative_data_rejection does not know by default but that are ours: 410 (a route
# that moved, answering with a pointer) and 413 (a body over the size limit).
REJECTION_STATUSES = [
    "400",
    "401",
    "403",
    "404",
    "405",
    "406",
    "409",
    "410",
    "413",
    "415",
    "422",
    "428",
    "429",
]

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "generation": {
            "mode": "all",  # valid and invalid data
            "max-examples": EXAMPLES,
            "database": "none",  # no replay of earlier runs' failures: the seed alone decides the cases
            "with-security-parameters": False,  # the token comes from the fixture, not the generator
        },
        "phases": {"stateful": {"enabled": False}},
        "checks": {"negative_data_rejection": {"expected-statuses": REJECTION_STATUSES}},
        "suppress-health-check": ["all"],
    }
)
OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
schema = schemathesis.openapi.from_path(OPENAPI, config=CONFIG)
# Public routes: everything outside /v1 (OAuth callbacks, privacy requests, SMS pages, webhooks).
public_schema = schemathesis.openapi.from_path(OPENAPI, config=CONFIG).include(path_regex=r"^/(?!v1/)")

TIMEOUT = 30  # seconds per request: a hang is a failure, not a stuck test run
REPORT = os.environ.get("FUZZ_REPORT")  # make fuzz: one line per operation (test, cases sent, outcome)


@pytest.fixture(scope="module")
def demo_user(local_stack: RunningStack) -> dict[str, str]:
    return {"Authorization": f"Bearer {local_stack.token(DEMO_ORG, DEMO_USER, DEMO_ROLES, ttl=6 * 3600)}"}


@pytest.fixture
def client() -> requests.Session:
    """A loopback source address per operation, so the public routes' per-client rate limits meet
    each operation's cases on their own."""
    return new_client()


@pytest.fixture
def sent(request: pytest.FixtureRequest) -> Iterator[list[int]]:
    """Counts the cases one operation's test sends (written to ``FUZZ_REPORT`` when set, with the
    test's outcome: a long run that is stopped early still says what failed so far)."""
    count = [0]
    yield count
    if REPORT:
        outcome = request.node.stash.get(OUTCOMES, {}).get("call", "not run")
        with open(REPORT, "a", encoding="utf-8") as report:
            report.write(f"{request.node.name}\t{count[0]}\t{outcome}\n")


@schema.parametrize()
def test_operation_as_demo_admin(
    case: schemathesis.Case,
    local_stack: RunningStack,
    demo_user: dict[str, str],
    client: requests.Session,
    sent: list[int],
) -> None:
    sent[0] += 1
    case.call_and_validate(
        base_url=local_stack.url, session=client, headers=demo_user, checks=CHECKS, timeout=TIMEOUT
    )


@public_schema.parametrize()
def test_public_operation_as_stranger(
    case: schemathesis.Case, local_stack: RunningStack, client: requests.Session, sent: list[int]
) -> None:
    sent[0] += 1
    case.call_and_validate(base_url=local_stack.url, session=client, checks=CHECKS, timeout=TIMEOUT)

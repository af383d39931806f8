from datetime import UTC, datetime
from itertools import count

import pytest

from callproof.contacts.service import ContactService
from tests.fakes import FixedOrgSettings, InMemoryContactStore


@pytest.fixture
def store() -> InMemoryContactStore:
    return InMemoryContactStore()


@pytest.fixture
def orgs() -> FixedOrgSettings:
    return FixedOrgSettings("US", {"org-b": "GB"})


@pytest.fixture
def service(store: InMemoryContactStore, orgs: FixedOrgSettings) -> ContactService:
    """Deterministic ids (1, 2, ... as 32 hex digits) and a fixed clock."""
    ids = count(1)
    return ContactService(
        store, orgs, clock=lambda: datetime(2026, 11, 28, tzinfo=UTC), new_id=lambda: f"{next(ids):032x}"
    )

"""Contacts over HTTP on the running local stack: two orgs, lookups, CSV import, tenant isolation."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests

from tests.fixtures.local_stack.process import RunningStack

pytestmark = pytest.mark.e2e


class Client:
    def __init__(self, stack: RunningStack, org: str, roles: tuple[str, ...] = ("rep",)) -> None:
        self.base = stack.url
        self.headers = {"Authorization": f"Bearer {stack.token(org, 'user-' + org, roles)}"}

    def call(
        self, method: str, path: str, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> requests.Response:
        merged = {**self.headers, **(headers or {})}
        return requests.request(method, self.base + path, headers=merged, timeout=60, **kwargs)


@pytest.fixture
def orgs(local_stack: RunningStack) -> tuple[Client, Client]:
    suffix = uuid.uuid4().hex[:8]  # the stack is shared by the session: fresh orgs per test
    return Client(local_stack, f"acme-{suffix}"), Client(local_stack, f"globex-{suffix}")


def test_two_orgs_create_look_up_import_and_stay_apart(orgs: tuple[Client, Client]) -> None:
    acme, globex = orgs
    ada = {"name": "Ada", "type": "customer", "emails": ["ada@acme.example"], "phones": ["(415) 555-0100"]}
    created = acme.call("POST", "/v1/contacts", json=ada)
    assert created.status_code == 201, created.text
    contact = created.json()
    assert globex.call("POST", "/v1/contacts", json={**ada, "name": "Other Ada"}).status_code == 201

    found = acme.call(
        "POST", "/v1/contacts/lookup", json={"phones": ["+1 415 555 0100"], "emails": ["ADA@acme.example"]}
    )
    assert found.status_code == 200
    assert [c["id"] for c in found.json()["phones"]["+14155550100"]] == [contact["id"]]
    assert [c["id"] for c in found.json()["emails"]["ada@acme.example"]] == [contact["id"]]

    csv_text = (
        "name,email,phone\nBabbage,charles@acme.example,+1 202 555 0143\nAda L,ada@acme.example,\nBad,,12\n"
    )
    imported = acme.call("POST", "/v1/contacts/imports", data=csv_text, headers={"Content-Type": "text/csv"})
    assert imported.status_code == 200, imported.text
    assert [row["status"] for row in imported.json()["rows"]] == ["created", "duplicate", "rejected"]

    foreign = globex.call("GET", f"/v1/contacts/{contact['id']}")
    assert foreign.status_code == 404
    assert foreign.json()["error"]["code"] == "not_found"
    assert globex.call("DELETE", f"/v1/contacts/{contact['id']}").status_code == 404
    assert acme.call("GET", f"/v1/contacts/{contact['id']}").status_code == 200
    listed = globex.call("GET", "/v1/contacts").json()["items"]
    assert [c["name"] for c in listed] == ["Other Ada"]


def test_bad_requests_answer_json_4xx(orgs: tuple[Client, Client]) -> None:
    acme, _ = orgs
    malformed = acme.call("POST", "/v1/contacts", data="{", headers={"Content-Type": "application/json"})
    assert malformed.status_code == 400
    assert malformed.json()["error"]["code"] == "malformed_json"
    too_many = acme.call("GET", "/v1/contacts", params={"limit": "500"})
    assert (too_many.status_code, too_many.json()["error"]["field"]) == (422, "limit")
    assert acme.call("GET", "/v1/contacts").json()["items"] == []

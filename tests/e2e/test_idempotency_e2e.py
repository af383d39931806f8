"""Idempotency-Key over HTTP on the running local stack (the idempotency table made from the
template): a retried POST /v1/contacts answers the first contact and stores one; another body is 422;
another user's key is another key (issue 13, point 11)."""

from __future__ import annotations

import uuid

import pytest
import requests

from tests.fixtures.local_stack.process import RunningStack

pytestmark = pytest.mark.e2e

ADA = {"name": "Ada", "type": "customer", "emails": ["ada@idem.example"]}


def post(
    stack: RunningStack, org: str, user: str, key: str | None, body: dict[str, object]
) -> requests.Response:
    headers = {"Authorization": f"Bearer {stack.token(org, user, ('rep',))}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return requests.post(stack.url + "/v1/contacts", json=body, headers=headers, timeout=60)


def listed(stack: RunningStack, org: str, user: str) -> list[str]:
    headers = {"Authorization": f"Bearer {stack.token(org, user, ('rep',))}"}
    response = requests.get(stack.url + "/v1/contacts", headers=headers, timeout=60)
    assert response.status_code == 200, response.text
    return [c["id"] for c in response.json()["items"]]


def test_a_retried_create_over_http_creates_one_contact(local_stack: RunningStack) -> None:
    org, key = f"idem-{uuid.uuid4().hex[:8]}", str(uuid.uuid4())
    first = post(local_stack, org, "rep-1", key, ADA)
    assert first.status_code == 201, first.text
    again = post(local_stack, org, "rep-1", key, ADA)
    assert (again.status_code, again.json()) == (201, first.json())
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert listed(local_stack, org, "rep-1") == [first.json()["id"]]

    reused = post(local_stack, org, "rep-1", key, {**ADA, "name": "Ada King"})
    assert reused.status_code == 422
    assert reused.json()["error"]["code"] == "idempotency_key_reused"
    assert reused.json()["error"]["field"] == "Idempotency-Key"

    colleague = post(local_stack, org, "rep-2", key, ADA)
    assert colleague.status_code == 201
    assert colleague.json()["id"] != first.json()["id"]
    assert sorted(listed(local_stack, org, "rep-1")) == sorted([first.json()["id"], colleague.json()["id"]])

    assert post(local_stack, org, "rep-1", "", ADA).status_code == 422  # an empty key is a mistake
    assert post(local_stack, org, "rep-1", None, ADA).status_code == 201  # no key: as before

"""Where Google sends the browser back, in headless Chromium against the local stack (issue 17, points
4, 5 and 7 end to end): a Google Contacts grant of its own (no Gmail scope) lands on a page, the
import runs on it (a job, polled until done), and a contact deleted in Google is marked, never deleted."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.fixtures.local_stack.process import RunningStack

pytestmark = pytest.mark.e2e
CONTACTS_SCOPE = "https://www.googleapis.com/auth/contacts.readonly"


def imported_job(api: Callable[[str, str], requests.Response]) -> dict[str, Any]:
    """The Google Contacts import runs as a job: POST (202), then poll GET until it is over."""
    posted = api("POST", "/v1/contacts/imports/google")
    assert posted.status_code == 202, posted.text
    deadline = time.monotonic() + 120
    while True:
        state = api("GET", f"/v1/contacts/imports/{posted.json()['import_id']}").json()
        if state["status"] != "running" or time.monotonic() > deadline:
            return dict(state)
        time.sleep(0.5)


def test_a_contacts_only_grant_lands_on_a_page_imports_and_marks_deleted_contacts(
    local_stack: RunningStack, browser: Any
) -> None:
    org = f"browser-gc-{uuid.uuid4().hex[:8]}"
    account = f"rep-{uuid.uuid4().hex[:6]}@callproof.test"  # the Google account the user picks
    headers = {"Authorization": f"Bearer {local_stack.token(org, 'rep-1', ['rep'])}"}
    double = json.loads((local_stack.home / "local-stack.json").read_text())["google_double_url"]

    def api(method: str, path: str) -> requests.Response:
        return requests.request(method, local_stack.url + path, headers=headers, timeout=30)

    url = api("POST", "/v1/integrations/google/authorize?contacts=true").json()["authorization_url"]
    assert parse_qs(urlsplit(url).query)["scope"] == [CONTACTS_SCOPE]  # no Gmail scope asked
    page = browser.new_page()
    try:
        landed = page.goto(url + f"&login_hint={account}")  # Google's consent, then our callback
        assert landed is not None
        assert landed.status == 200
        assert landed.headers["content-security-policy"].startswith("default-src 'none'")
        assert page.get_by_role("heading", level=1).inner_text() == "Google for CallProof"
        assert "Google Contacts is connected" in page.get_by_role("status").inner_text()
        replayed = page.reload()  # the same answer from Google again: the state is spent
        assert replayed is not None
        assert replayed.status == 422
        assert page.get_by_role("alert").is_visible()
        assert "connect again" in page.locator("main").inner_text()
    finally:
        page.close()
    assert api("GET", "/v1/integrations/google").status_code == 404  # no Gmail connection was made

    people = [
        {"names": [{"displayName": "Bea"}], "emailAddresses": [{"value": f"bea@{org}.example"}]},
        {"names": [{"displayName": "Cy"}], "emailAddresses": [{"value": f"cy@{org}.example"}]},
    ]
    added = requests.post(f"{double}/_double/mailboxes/{account}/people", json=people, timeout=10)
    assert added.status_code == 201
    imported = imported_job(api)
    assert (imported["status"], imported["counts"]["created"]) == ("done", 2), imported
    cy = next(c for c in api("GET", "/v1/contacts").json()["items"] if c["name"] == "Cy")
    deleted = requests.post(  # Cy deleted in Google Contacts (the double names people people/c<n>)
        f"{double}/_double/mailboxes/{account}/delete-people", json=["people/c2"], timeout=10
    )
    assert deleted.ok
    again = imported_job(api)
    assert (again["status"], again["full_sync"], again["removed_in_google"]) == ("done", False, 1)
    marked = api("GET", "/v1/contacts?removed_in_google=true").json()["items"]
    assert [(c["id"], c["removed_in_google"] is not None) for c in marked] == [(cy["id"], True)]
    assert api("GET", f"/v1/contacts/{cy['id']}").json()["removed_in_google"] is not None  # kept

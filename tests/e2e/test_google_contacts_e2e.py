"""The Google Contacts import over HTTP on the running local stack (issue 14, point 3): consent through
the local Google double, `POST /v1/contacts/imports/google` answers 202 with a job, the import worker
(the template's SQS event, polled locally) reads the People API page by page, and the client polls
`GET /v1/contacts/imports/{id}` until it is done; a person deleted in Google marks their contact."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.fixtures.local_stack.process import RunningStack

pytestmark = pytest.mark.e2e


def test_google_contacts_import_as_a_job_polled_until_done(local_stack: RunningStack) -> None:
    org = f"gimport-{uuid.uuid4().hex[:8]}"
    account = f"rep-{uuid.uuid4().hex[:6]}@callproof.test"
    rep = {"Authorization": f"Bearer {local_stack.token(org, 'rep-1', ['rep'])}"}
    base = local_stack.url
    double = json.loads((local_stack.home / "local-stack.json").read_text())["google_double_url"]

    def api(method: str, path: str) -> requests.Response:
        return requests.request(method, base + path, headers=rep, timeout=30)

    def imported() -> dict[str, Any]:
        """POST, then poll GET until the job is over."""
        posted = api("POST", "/v1/contacts/imports/google")
        assert posted.status_code == 202, posted.text
        job = posted.json()
        assert (job["source"], job["status"]) == ("google", "running")
        deadline = time.monotonic() + 120
        while True:
            state = api("GET", f"/v1/contacts/imports/{job['import_id']}").json()
            if state["status"] != "running" or time.monotonic() > deadline:
                return dict(state)
            time.sleep(0.5)

    refused = api("POST", "/v1/contacts/imports/google")
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "google_scope_missing")
    url = api("POST", "/v1/integrations/google/authorize?contacts=true").json()["authorization_url"]
    consent = requests.get(url + f"&login_hint={account}", allow_redirects=False, timeout=30)
    assert consent.status_code == 302  # the double consents as the login_hint account
    back = {k: v[0] for k, v in parse_qs(urlsplit(consent.headers["Location"]).query).items()}
    landed = requests.get(
        f"{base}/oauth/google/callback",
        params={"state": back["state"], "code": back["code"]},
        headers={"Accept": "application/json"},
        timeout=30,
    )
    assert landed.status_code == 200, landed.text

    people = [
        {"names": [{"displayName": f"P{i}"}], "emailAddresses": [{"value": f"p{i}@{org}.example"}]}
        for i in range(3)
    ]
    assert requests.post(f"{double}/_double/mailboxes/{account}/people", json=people, timeout=10).ok
    first = imported()
    assert (first["status"], first["rows_done"], first["full_sync"]) == ("done", 3, True), first
    assert first["counts"]["created"] == 3
    other = {"Authorization": f"Bearer {local_stack.token('other-' + org, 'rep-1', ['rep'])}"}
    hidden = requests.get(f"{base}/v1/contacts/imports/{first['import_id']}", headers=other, timeout=30)
    assert hidden.status_code == 404

    deleted = requests.post(
        f"{double}/_double/mailboxes/{account}/delete-people", json=["people/c1"], timeout=10
    )
    assert deleted.ok
    second = imported()
    assert (second["status"], second["full_sync"], second["removed_in_google"]) == ("done", False, 1), second
    marked = api("GET", "/v1/contacts?removed_in_google=true").json()["items"]
    assert [c["name"] for c in marked] == ["P0"]

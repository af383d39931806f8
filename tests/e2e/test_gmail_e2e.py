"""Gmail over HTTP on the local stack: connect through the Google double's consent redirect, new mail
with `callproof gmail-deliver` (signed Pub/Sub push), the SQS poller runs the sync, contact mail is
read back, removal purges it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.fixtures.local_stack.process import RunningStack

pytestmark = pytest.mark.e2e
MAIL = Path(__file__).resolve().parent.parent / "fixtures" / "mail"


def deliver(stack: RunningStack, mailbox: str, eml: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, CALLPROOF_LOCAL_HOME=str(stack.home))
    return subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
        [sys.executable, "-m", "callproof_local.cli", "gmail-deliver", "--mailbox", mailbox, str(eml)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_connect_push_sync_read_remove(local_stack: RunningStack) -> None:
    org = f"e2e-gmail-{uuid.uuid4().hex[:8]}"
    mailbox = f"rep-{uuid.uuid4().hex[:6]}@callproof.test"
    headers = {"Authorization": f"Bearer {local_stack.token(org, 'rep-1', ['rep'])}"}

    def api(method: str, path: str, body: Any = None) -> requests.Response:
        return requests.request(method, local_stack.url + path, json=body, headers=headers, timeout=30)

    contact = api(
        "POST", "/v1/contacts", {"name": "Ada", "type": "customer", "emails": ["ada@customer.example"]}
    )
    assert contact.status_code == 201, contact.text
    contact_id = contact.json()["id"]

    authorize = api("POST", "/v1/integrations/google/authorize")
    assert authorize.status_code == 200, authorize.text
    consent = requests.get(
        authorize.json()["authorization_url"] + f"&login_hint={mailbox}", allow_redirects=False, timeout=10
    )
    assert consent.status_code == 302
    callback = requests.get(consent.headers["Location"], timeout=30)
    assert callback.status_code == 200, callback.text
    replay = requests.get(consent.headers["Location"], timeout=30)  # the state is single-use
    assert replay.status_code == 422
    assert api("GET", "/v1/integrations/google").json()["status"] == "active"

    unsigned = requests.post(
        f"{local_stack.url}/webhooks/gmail/push", json={"message": {"data": "e30="}}, timeout=10
    )
    assert unsigned.status_code == 401
    forged = requests.post(
        f"{local_stack.url}/webhooks/gmail/push",
        json={"message": {"data": "e30="}},
        headers={"Authorization": "Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln"},
        timeout=10,
    )
    assert forged.status_code == 401

    personal = deliver(local_stack, mailbox, MAIL / "personal.eml")
    assert personal.returncode == 0, personal.stderr
    done = deliver(local_stack, mailbox, MAIL / "contact.eml")
    assert done.returncode == 0, done.stderr
    assert '"push_status": 204' in done.stdout

    items: list[dict[str, Any]] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not items:
        items = api("GET", f"/v1/contacts/{contact_id}/emails").json()["items"]
        time.sleep(0.2)
    assert [item["subject"] for item in items] == ["Quote for 40 seats"]
    email = api("GET", f"/v1/emails/{items[0]['email_id']}").json()
    assert "40 seats" in email["text"]

    removed = api("DELETE", "/v1/integrations/google?purge=true")
    assert removed.status_code == 200, removed.text
    assert removed.json()["purged_emails"] == 1
    assert api("GET", f"/v1/contacts/{contact_id}/emails").json()["items"] == []
    assert api("GET", f"/v1/emails/{items[0]['email_id']}").status_code == 404


def test_the_maintenance_schedule_runs_over_connected_mailboxes(local_stack: RunningStack) -> None:
    """(The Google Contacts import, a grant of its own, is driven end to end by
    tests/browser/test_oauth_pages.py.)"""
    org = f"e2e-gmaint-{uuid.uuid4().hex[:8]}"
    mailbox = f"rep-{uuid.uuid4().hex[:6]}@callproof.test"
    headers = {"Authorization": f"Bearer {local_stack.token(org, 'rep-1', ['rep'])}"}
    authorize = requests.post(
        local_stack.url + "/v1/integrations/google/authorize", headers=headers, timeout=30
    )
    url = authorize.json()["authorization_url"]
    consent = requests.get(url + f"&login_hint={mailbox}", allow_redirects=False, timeout=10)
    assert requests.get(consent.headers["Location"], timeout=30).status_code == 200
    run = requests.post(f"{local_stack.url}/_local/schedules/GmailMaintenance", timeout=60)
    assert run.status_code == 200, run.text
    assert run.json()["result"]["mailboxes"] >= 1

"""The breach register end to end on the local stack: ``callproof incident record`` counts who is
affected, the daily ``DsarDeadlines`` schedule flags the incident overdue, and ``callproof incident
notify`` (then replayed over the API) emails each affected member once, read from the local outbox."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests

from tests.fixtures.local_stack.api import call
from tests.fixtures.local_stack.process import RunningStack

pytestmark = pytest.mark.e2e


def cli(stack: RunningStack, *argv: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "CALLPROOF_TOKEN"}
    return subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "callproof_local.cli", *argv],
        env={**environment, "CALLPROOF_LOCAL_HOME": str(stack.home)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_record_count_flag_overdue_and_notify_each_member_once(local_stack: RunningStack) -> None:
    org = f"breach-{uuid.uuid4().hex[:8]}"
    emails = [f"{name}-{uuid.uuid4().hex[:8]}@example.com" for name in ("ann", "bob")]
    for email in emails:
        call(
            local_stack,
            org,
            "POST",
            "/v1/org/members",
            {"email": email, "full_name": "Rep", "roles": ["rep"]},
        )
    members = len(call(local_stack, org, "GET", "/v1/org/members")["items"])
    call(local_stack, org, "POST", "/v1/contacts", {"name": "Grace Hopper", "type": "customer"})

    detected = (datetime.now(UTC) - timedelta(hours=73)).isoformat()
    recorded = cli(local_stack, "incident", "record", "--org", org, "--detected-at", detected,
                   "--description", "A support laptop holding an unencrypted export was stolen.",
                   "--store", "contacts", "--store", "accounts", "--kind", "contact_details", "--kind", "account")  # fmt: skip
    assert recorded.returncode == 0, recorded.stderr
    incident = json.loads(recorded.stdout)
    assert incident["affected"] == {"members": members, "subjects": 1}
    assert incident["status"] == "open"
    assert emails[0] not in recorded.stdout  # counted, never listed

    ran = requests.post(f"{local_stack.url}/_local/schedules/DsarDeadlines", timeout=120)  # run-schedule
    assert ran.status_code == 200, ran.text
    assert ran.json()["result"]["incidents_overdue"] >= 1
    shown = call(local_stack, org, "GET", f"/v1/incidents/{incident['id']}")
    assert shown["status"] == "overdue"

    notified = cli(local_stack, "incident", "notify", incident["id"], "--org", org,
                   "--what-to-do", "Watch for phishing mail that uses your name.")  # fmt: skip
    assert notified.returncode == 0, notified.stderr
    assert json.loads(notified.stdout)["people_notified"] == members
    decision = {"decision": "notify", "what_to_do": "Watch for phishing mail that uses your name."}
    replayed = call(local_stack, org, "POST", f"/v1/incidents/{incident['id']}/people", decision)
    assert replayed["people_notified"] == members  # the notify step replayed: nobody is emailed twice
    outbox = requests.get(f"{local_stack.url}/_local/outbox", timeout=30).json()["messages"]
    for email in emails:
        [mail] = [m for m in outbox if email in m["to"]]
        assert "stolen" in mail["body"]
        assert "contact details" in mail["body"]
        assert "Watch for phishing" in mail["body"]

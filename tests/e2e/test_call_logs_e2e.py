"""Call logs over HTTP on the running local stack, including asynchronous re-matching by the stream."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid

import pytest
import requests

from tests.fixtures.local_stack.process import RunningStack

pytestmark = pytest.mark.e2e


def test_upload_then_a_new_contact_claims_the_call(local_stack: RunningStack) -> None:
    org = f"calls-{uuid.uuid4().hex[:8]}"
    headers = {"Authorization": f"Bearer {local_stack.token(org, 'rep-1', ['rep'])}"}
    base = local_stack.url

    device = {
        "device_type": "phone",
        "os_name": "iOS",
        "os_version": "18.1",
        "app_version": "4.2.0",
        "country": "FR",
    }
    assert (
        requests.put(f"{base}/v1/devices/iphone-1", json=device, headers=headers, timeout=30).status_code
        == 200
    )
    entry = {
        "client_id": str(uuid.uuid4()),
        "phone_number": "06 12 34 56 78",
        "direction": "missed",
        "started_at": "2026-11-27T18:05:00+01:00",
        "duration_seconds": 0,
        "device_id": "iphone-1",
    }
    for _ in range(3):  # the phone retries; the call is stored once
        uploaded = requests.post(
            f"{base}/v1/call-logs", json={"entries": [entry]}, headers=headers, timeout=30
        )
        assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json()["results"][0]["status"] == "duplicate"
    assert uploaded.json()["results"][0]["match"]["status"] == "none"

    contact = {"name": "Marie", "type": "customer", "phones": ["+33 6 12 34 56 78"]}
    created = requests.post(f"{base}/v1/contacts", json=contact, headers=headers, timeout=30).json()

    # The stack is shared: a test that imported 1,200 contacts just before leaves 1,200 contact records
    # on the stream (the event's filter drops their lookup items) for the rematch to work through first.
    deadline = time.monotonic() + 150
    calls: list[dict[str, object]] = []
    while time.monotonic() < deadline and not calls:  # the stream poller re-matches asynchronously
        page = requests.get(f"{base}/v1/contacts/{created['id']}/calls", headers=headers, timeout=30).json()
        calls = page["items"]
        time.sleep(0.5)
    assert [c["id"] for c in calls] == [entry["client_id"]]
    assert calls[0]["e164"] == "+33612345678"
    assert calls[0]["phone_number"] == "06 12 34 56 78"


def test_retention_schedule_runs_on_demand(local_stack: RunningStack) -> None:
    org = f"old-{uuid.uuid4().hex[:8]}"
    headers = {"Authorization": f"Bearer {local_stack.token(org, 'rep-1', ['rep'])}"}
    device = {"device_type": "phone", "os_name": "Android", "os_version": "15", "app_version": "4.2.0"}
    requests.put(f"{local_stack.url}/v1/devices/old-phone", json=device, headers=headers, timeout=30)
    ancient = {
        "client_id": str(uuid.uuid4()),
        "phone_number": "+1 415 555 0100",
        "direction": "outbound",
        "started_at": "2019-05-01T10:00:00Z",
        "duration_seconds": 10,
        "device_id": "old-phone",
    }
    requests.post(f"{local_stack.url}/v1/call-logs", json={"entries": [ancient]}, headers=headers, timeout=30)
    ran = subprocess.run(  # what a developer types: `callproof run-schedule CallLogRetention`
        [sys.executable, "-m", "callproof_local.cli", "run-schedule", "CallLogRetention"],
        env={**os.environ, "CALLPROOF_LOCAL_HOME": str(local_stack.home)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(ran.stdout)["deleted"] >= 1
    mine = requests.get(f"{local_stack.url}/v1/call-logs", headers=headers, timeout=30).json()
    assert mine["items"] == []
    # issue 18, point 5: the sweep's log line names its function's service, as in the cloud
    logged = [
        json.loads(line) for line in local_stack.stdout.read_text().splitlines() if '"retention purge' in line
    ]
    assert logged
    assert {line["service"] for line in logged} == {"call-retention"}

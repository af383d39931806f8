"""A large CSV import over HTTP on the running local stack: upload to the local S3 with the presigned
POST, start, the queue worker (the template's SQS event, polled locally), progress until done."""

from __future__ import annotations

import time
import uuid

import pytest
import requests

from tests.fixtures.local_stack.process import RunningStack

pytestmark = pytest.mark.e2e


def test_a_file_over_the_synchronous_limit_imports_as_a_job(local_stack: RunningStack) -> None:
    org = f"imports-{uuid.uuid4().hex[:8]}"
    rep = {"Authorization": f"Bearer {local_stack.token(org, 'rep-1', ['rep'])}"}
    base = local_stack.url
    rows = "".join(f"Person {i},p{i}@example.com,+1 202 555 {i:04d}\n" for i in range(1_200))
    text = "name,email,phone\n" + rows + "Bad,,12\n"

    refused = requests.post(
        f"{base}/v1/contacts/imports", data=text, headers={**rep, "Content-Type": "text/csv"}, timeout=60
    )
    assert refused.status_code == 413
    assert "/v1/contacts/imports/uploads" in refused.json()["error"]["message"]

    created = requests.post(f"{base}/v1/contacts/imports/uploads", headers=rep, timeout=30)
    assert created.status_code == 201, created.text
    job = created.json()
    form = job["upload"]
    sent = requests.post(
        form["url"], data=form["fields"], files={"file": ("people.csv", text.encode())}, timeout=60
    )
    assert sent.status_code in (200, 204), sent.text
    started = requests.post(f"{base}/v1/contacts/imports/{job['import_id']}/start", headers=rep, timeout=30)
    assert (started.status_code, started.json()["status"]) == (202, "running")

    deadline = time.monotonic() + 240
    while True:
        state = requests.get(f"{base}/v1/contacts/imports/{job['import_id']}", headers=rep, timeout=30).json()
        if state["status"] != "running" or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert (state["status"], state["rows_done"]) == ("done", 1_201), state
    assert state["counts"] == {"created": 1_200, "updated": 0, "duplicate": 0, "rejected": 1, "suppressed": 0}
    errors = requests.get(state["errors_url"], timeout=30)
    assert errors.status_code == 200
    assert errors.text.splitlines()[1] == "1202,rejected,phones[0],invalid phone number: too short"

    other = {"Authorization": f"Bearer {local_stack.token('other-' + org, 'rep-1', ['rep'])}"}
    assert (
        requests.get(f"{base}/v1/contacts/imports/{job['import_id']}", headers=other, timeout=30).status_code
        == 404
    )

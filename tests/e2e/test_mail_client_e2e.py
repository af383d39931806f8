"""Issue 17, points 1-3 over HTTP on the local stack: a rep picks a label and only its mail syncs; two
reps share a thread and the contact's timeline lists it once; the list, its filters and the thread
view work (the Google double serves labels, threads and Message-IDs as Gmail does)."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

import pytest
import requests

from tests.fixtures.local_stack.process import RunningStack

pytestmark = pytest.mark.e2e


def eml(sender: str, to: str, subject: str, message_id: str, reply_to: str = "") -> bytes:
    lines = [f"From: {sender}", f"To: {to}", f"Subject: {subject}", f"Message-ID: {message_id}"]
    lines += [f"In-Reply-To: {reply_to}", f"References: {reply_to}"] if reply_to else []
    return ("\r\n".join([*lines, "Content-Type: text/plain", "", "Hello", ""])).encode()


def test_labels_one_message_once_list_filters_and_thread(local_stack: RunningStack) -> None:
    org = f"e2e-mail-{uuid.uuid4().hex[:8]}"
    ann, ben = (f"{name}-{uuid.uuid4().hex[:6]}@callproof.test" for name in ("ann", "ben"))
    double = json.loads((local_stack.home / "local-stack.json").read_text())["google_double_url"]

    def api(user: str, method: str, path: str, body: Any = None) -> requests.Response:
        headers = {"Authorization": f"Bearer {local_stack.token(org, user, ['rep'])}"}
        return requests.request(method, local_stack.url + path, json=body, headers=headers, timeout=30)

    contact = api(
        "rep-1", "POST", "/v1/contacts", {"name": "Ada", "type": "customer", "emails": ["ada@x.example"]}
    )
    contact_id = contact.json()["id"]
    for user, mailbox in (("rep-1", ann), ("rep-2", ben)):
        url = api(user, "POST", "/v1/integrations/google/authorize").json()["authorization_url"]
        consent = requests.get(f"{url}&login_hint={mailbox}", allow_redirects=False, timeout=10)
        assert requests.get(consent.headers["Location"], timeout=30).status_code == 200

    # Ann syncs only her "Customers" label: the inbox message is never stored
    label = requests.post(f"{double}/_double/mailboxes/{ann}/labels", json={"name": "Customers"}, timeout=10)
    chosen = api("rep-1", "PUT", "/v1/integrations/google/labels", {"labels": [label.json()["id"], "SENT"]})
    assert chosen.status_code == 200, chosen.text
    both = f"{ann}, {ben}"
    quote = eml("ada@x.example", both, "Quote", "<quote@x.example>")
    reply = eml(ben, "ada@x.example", "Re: Quote", "<reply@callproof.test>", "<quote@x.example>")
    for mailbox, raw, labels in (
        (ann, quote, f"INBOX,{label.json()['id']}"),
        (ann, eml("ada@x.example", ann, "Inbox only", "<inbox@x.example>"), "INBOX"),
        (ben, quote, "INBOX"),
        (ben, reply, "SENT"),
    ):
        added = requests.post(
            f"{double}/_double/mailboxes/{mailbox}/messages?labels={labels}", data=raw, timeout=10
        )
        assert added.status_code == 201
    audience = f"{local_stack.url}/webhooks/gmail/push"
    for mailbox in (ann, ben):  # one Pub/Sub push each, signed as Google signs them
        token = requests.post(f"{double}/_double/push-token", json={"audience": audience}, timeout=10).json()
        data = base64.b64encode(json.dumps({"emailAddress": mailbox, "historyId": 10**9}).encode()).decode()
        push = requests.post(
            audience,
            json={
                "message": {"data": data, "messageId": mailbox},
                "subscription": "projects/p/subscriptions/s",
            },
            headers={"Authorization": f"Bearer {token['token']}"},
            timeout=30,
        )
        assert push.status_code == 204, push.text

    items: list[dict[str, Any]] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(items) < 2:
        items = api("rep-1", "GET", f"/v1/contacts/{contact_id}/emails").json()["items"]
        time.sleep(0.2)
    assert [(i["subject"], i["mailboxes"]) for i in items] == [
        ("Re: Quote", ["rep-2"]),
        ("Quote", ["rep-1", "rep-2"]),
    ]

    def subjects(query: str, user: str = "rep-1") -> list[str]:
        answer = api(user, "GET", f"/v1/emails?{query}")
        assert answer.status_code == 200, answer.text
        return [i["subject"] for i in answer.json()["items"]]

    assert subjects("") == ["Re: Quote", "Quote"]  # "Inbox only" never synced
    assert subjects("mailbox=me") == ["Quote"]
    assert subjects(f"to=ada@x.example&contact_id={contact_id}") == ["Re: Quote"]
    assert subjects("q=quote&from=ada@x.example") == ["Quote"]
    assert subjects("before=2000-01-01T00:00:00Z") == []
    assert api("rep-1", "GET", "/v1/emails?after=not-a-date").status_code == 422
    thread = api("rep-2", "GET", f"/v1/email-threads/{items[0]['thread_id']}")
    assert [m["subject"] for m in thread.json()["items"]] == ["Quote", "Re: Quote"]

"""Gmail sync end to end in-process: handlers on moto, Google played by the local Google double over
loopback HTTP (real googleapiclient, requests-oauthlib and google-auth on the wire)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import requests

from callproof_local.google_double import (
    DEFAULT_MAILBOX,
    GoogleDouble,
    local_environment,
    set_dev_credentials,
)
from callproof_local.pollers import sqs_record
from callproof_local.template import Physical
from tests.integration.conftest import Invoke
from tests.support import api_event

MAIL = Path(__file__).resolve().parents[2] / "fixtures" / "mail"
GATEWAY = "http://127.0.0.1:9"  # never called: only names the callback and the push audience
AUDIENCE = f"{GATEWAY}/webhooks/gmail/push"


@pytest.fixture
def google(aws_stack: dict[str, Physical], monkeypatch: pytest.MonkeyPatch) -> Iterator[GoogleDouble]:
    double = GoogleDouble().start()
    for key, value in local_environment(GATEWAY, double.url).items():
        monkeypatch.setenv(key, value)
    set_dev_credentials(boto3.Session(), None, aws_stack["GoogleOAuthSecret"].ref)
    yield double
    double.stop()


def public_event(method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    event = api_event(method, path, **kwargs)
    event["requestContext"].pop("authorizer", None)
    return event


def push_event(
    double: GoogleDouble, data: Any, *, token: str | None = None, raw: str | None = None
) -> dict[str, Any]:
    encoded = base64.b64encode(json.dumps(data).encode()).decode() if raw is None else raw
    event = public_event(
        "POST",
        "/webhooks/gmail/push",
        body={
            "message": {"data": encoded, "messageId": "1", "publishTime": "2026-11-28T10:00:00Z"},
            "subscription": "projects/p/subscriptions/s",
        },
    )
    bearer = double.signer.sign(AUDIENCE) if token is None else token
    event["headers"]["Authorization"] = f"Bearer {bearer}"
    return event


def connect(
    call: Invoke, mailbox: str = DEFAULT_MAILBOX, user: str = "rep-1", contacts: bool = False
) -> dict[str, Any]:
    query = {"contacts": "true"} if contacts else None
    status, body = call(
        "GmailFunction", api_event("POST", "/v1/integrations/google/authorize", user=user, query=query)
    )
    assert status == 200, body
    url = body["authorization_url"] + f"&login_hint={mailbox}"
    consent = requests.get(url, allow_redirects=False, timeout=5)
    assert consent.status_code == 302
    query = {k: v[0] for k, v in parse_qs(urlsplit(consent.headers["Location"]).query).items()}
    status, body = call(
        "GmailCallbackFunction",
        public_event("GET", "/oauth/google/callback", query={"state": query["state"], "code": query["code"]}),
    )
    assert status == 200, body
    return query


def drain(call: Invoke, aws_stack: dict[str, Physical]) -> list[Any]:
    """Deliver every queued sync job to the worker as Lambda would."""
    sqs = boto3.client("sqs")
    url = aws_stack["GmailSyncQueue"].ref
    results = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return results
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        results.append(call.raw("GmailSyncFunction", {"Records": [sqs_record(m, arn) for m in messages]}))  # type: ignore[attr-defined]
        for m in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def add_contact(call: Invoke, email: str, org: str = "org-a") -> str:
    status, body = call(
        "ContactsFunction",
        api_event(
            "POST", "/v1/contacts", body={"name": "Ada", "type": "customer", "emails": [email]}, org=org
        ),
    )
    assert status == 201, body
    return str(body["id"])


def test_connect_push_sync_read_remove(
    call: Invoke, aws_stack: dict[str, Physical], google: GoogleDouble, capsys: pytest.CaptureFixture[str]
) -> None:
    contact = add_contact(call, "ada@customer.example")
    connect(call)
    status, body = call("GmailFunction", api_event("GET", "/v1/integrations/google"))
    assert (status, body["status"], body["mailbox"]) == (200, "active", DEFAULT_MAILBOX)

    google.deliver(DEFAULT_MAILBOX, (MAIL / "personal.eml").read_bytes())
    _, history = google.deliver(DEFAULT_MAILBOX, (MAIL / "contact.eml").read_bytes())
    notification = {"emailAddress": DEFAULT_MAILBOX, "historyId": history}
    for _ in range(3):  # the same push three times
        status, _ = call("GmailPushFunction", push_event(google, notification))
        assert status == 204
    results = drain(call, aws_stack)
    assert results
    assert all(r["batchItemFailures"] == [] for r in results)

    status, page = call(
        "GmailFunction",
        api_event("GET", f"/v1/contacts/{contact}/emails", resource="/v1/contacts/{contact_id}/emails"),
    )
    assert status == 200, page
    assert [e["subject"] for e in page["items"]] == ["Quote for 40 seats"]  # stored once, personal mail never
    email = page["items"][0]
    assert email["attachments"] == [
        {"filename": "requirements.pdf", "size": 54, "content_type": "application/pdf"}
    ]
    status, full = call(
        "GmailFunction",
        api_event("GET", f"/v1/emails/{email['email_id']}", resource="/v1/emails/{email_id}", user="rep-2"),
    )
    assert status == 200, full
    assert "quote for 40 seats" in full["text"]
    assert "<b>40 seats</b>" in full["html"]
    objects = boto3.client("s3").list_objects_v2(
        Bucket=aws_stack["DataBucket"].ref, Prefix="orgs/org-a/mail/"
    )
    assert [o["Key"] for o in objects["Contents"]] == [f"orgs/org-a/mail/messages/{email['email_id']}.json"]

    # another org sees nothing
    status, _ = call(
        "GmailFunction",
        api_event("GET", f"/v1/emails/{email['email_id']}", resource="/v1/emails/{email_id}", org="org-b"),
    )
    assert status == 404

    # an older (stale) push changes nothing and queues nothing
    status, _ = call(
        "GmailPushFunction", push_event(google, {"emailAddress": DEFAULT_MAILBOX, "historyId": history - 1})
    )
    assert status == 204
    assert drain(call, aws_stack) == []

    # removal with purge: stop, revoke, tokens and mail gone
    status, removed = call(
        "GmailFunction", api_event("DELETE", "/v1/integrations/google", query={"purge": "true"})
    )
    assert status == 200, removed
    assert removed == {"stopped": True, "revoked": True, "purged_emails": 1, "purged_objects": 1}
    assert google.mailbox(DEFAULT_MAILBOX).watched_until == 0
    status, _ = call("GmailFunction", api_event("GET", "/v1/integrations/google"))
    assert status == 404
    versions = boto3.client("s3").list_object_versions(
        Bucket=aws_stack["DataBucket"].ref, Prefix="orgs/org-a/mail/"
    )
    assert not versions.get("Versions")
    assert not versions.get("DeleteMarkers")
    status, page = call(
        "GmailFunction",
        api_event("GET", f"/v1/contacts/{contact}/emails", resource="/v1/contacts/{contact_id}/emails"),
    )
    assert page["items"] == []
    # pushes for the removed mailbox are acknowledged and ignored
    status, _ = call(
        "GmailPushFunction", push_event(google, {"emailAddress": DEFAULT_MAILBOX, "historyId": history + 5})
    )
    assert status == 204
    assert drain(call, aws_stack) == []
    # re-connecting works
    connect(call)
    status, body = call("GmailFunction", api_event("GET", "/v1/integrations/google"))
    assert body["status"] == "active"
    # nothing personal reached the logs: no address, subject, body or token
    logs = capsys.readouterr()
    for secret in ("customer.example", DEFAULT_MAILBOX, "40 seats", "Quote", "ya29.", "1//"):
        assert secret not in logs.out + logs.err


@pytest.mark.parametrize(
    ("token", "status"),
    [
        ("", 401),
        ("not-a-jwt", 401),
        ("wrong-audience", 401),
        ("wrong-account", 403),
        ("unverified", 403),
        ("foreign-key", 401),
        ("foreign-issuer", 401),
    ],
)
def test_push_tokens_are_verified_before_anything_happens(
    call: Invoke, aws_stack: dict[str, Physical], google: GoogleDouble, token: str, status: int
) -> None:
    connect(call)
    bearer = {
        "": "",
        "not-a-jwt": "abc.def.ghi",
        "wrong-audience": google.signer.sign("https://elsewhere.example/push"),
        "wrong-account": google.signer.sign(AUDIENCE, "attacker@evil.iam.gserviceaccount.com"),
        "unverified": google.signer.sign(AUDIENCE, email_verified=False),
        "foreign-issuer": google.signer.sign(AUDIENCE, issuer="https://evil.example"),
        "foreign-key": GoogleDouble().signer.sign(AUDIENCE),  # a key the certs URL does not publish
    }[token]
    _, history = google.deliver(DEFAULT_MAILBOX, (MAIL / "contact.eml").read_bytes())
    answer, body = call(
        "GmailPushFunction",
        push_event(google, {"emailAddress": DEFAULT_MAILBOX, "historyId": history}, token=bearer),
    )
    assert answer == status, body
    assert drain(call, aws_stack) == []


@pytest.mark.parametrize(
    "raw",
    [
        "%%%not-base64%%%",
        base64.b64encode(b"not json").decode(),
        base64.b64encode(b"[1, 2]").decode(),
        base64.b64encode(json.dumps({"historyId": 5}).encode()).decode(),
        base64.b64encode(json.dumps({"emailAddress": "a@b.example"}).encode()).decode(),
        base64.b64encode(json.dumps({"emailAddress": "a@b.example", "historyId": "x"}).encode()).decode(),
    ],
)
def test_bad_push_payloads_are_4xx(
    call: Invoke, aws_stack: dict[str, Physical], google: GoogleDouble, raw: str
) -> None:
    status, body = call("GmailPushFunction", push_event(google, None, raw=raw))
    assert 400 <= status < 500, body
    assert drain(call, aws_stack) == []


def test_malformed_push_json_is_4xx(call: Invoke, google: GoogleDouble) -> None:
    event = push_event(google, {"emailAddress": DEFAULT_MAILBOX, "historyId": 1})
    event["body"] = "{not json"
    status, _ = call("GmailPushFunction", event)
    assert status == 400
    event["body"] = json.dumps({"message": "nope"})
    status, _ = call("GmailPushFunction", event)
    assert status == 422


def test_old_history_falls_back_to_a_bounded_full_sync(
    call: Invoke, aws_stack: dict[str, Physical], google: GoogleDouble
) -> None:
    contact = add_contact(call, "ada@customer.example")
    connect(call)
    google.expire_history(DEFAULT_MAILBOX)
    google.mailbox(DEFAULT_MAILBOX).oldest_history += 1  # the stored cursor is now too old
    raw = (MAIL / "contact.eml").read_bytes().replace(b"Date: Fri, 27 Nov 2026", b"Date: Sat, 28 Nov 2026")
    _, history = google.deliver(DEFAULT_MAILBOX, raw)
    status, _ = call(
        "GmailPushFunction", push_event(google, {"emailAddress": DEFAULT_MAILBOX, "historyId": history})
    )
    assert status == 204
    drain(call, aws_stack)
    status, page = call(
        "GmailFunction",
        api_event("GET", f"/v1/contacts/{contact}/emails", resource="/v1/contacts/{contact_id}/emails"),
    )
    assert [e["subject"] for e in page["items"]] == ["Quote for 40 seats"]


def test_restricted_contacts_mail_is_not_synced(
    call: Invoke, aws_stack: dict[str, Physical], google: GoogleDouble
) -> None:
    contact = add_contact(call, "ada@customer.example")
    boto3.client("dynamodb").update_item(
        TableName=aws_stack["ContactsTable"].ref,
        Key={"pk": {"S": "ORG#org-a"}, "sk": {"S": f"CONTACT#{contact}"}},
        UpdateExpression="SET restricted = :t",
        ExpressionAttributeValues={":t": {"BOOL": True}},
    )
    connect(call)
    _, history = google.deliver(DEFAULT_MAILBOX, (MAIL / "contact.eml").read_bytes())
    call("GmailPushFunction", push_event(google, {"emailAddress": DEFAULT_MAILBOX, "historyId": history}))
    drain(call, aws_stack)
    assert boto3.client("s3").list_objects_v2(Bucket=aws_stack["DataBucket"].ref).get("KeyCount") == 0


def test_oauth_callback_refuses_bad_or_replayed_state(call: Invoke, google: GoogleDouble) -> None:
    state = connect(call)
    status, body = call(
        "GmailCallbackFunction",
        public_event("GET", "/oauth/google/callback", query={"state": state["state"], "code": state["code"]}),
    )
    assert status == 422, body
    status, _ = call(
        "GmailCallbackFunction",
        public_event("GET", "/oauth/google/callback", query={"state": "x", "code": "y"}),
    )
    assert status == 422
    status, _ = call(
        "GmailCallbackFunction",
        public_event("GET", "/oauth/google/callback", query={"state": "x", "error": "access_denied"}),
    )
    assert status == 422


def test_the_hourly_maintenance_renews_the_watch(
    call: Invoke, aws_stack: dict[str, Physical], google: GoogleDouble
) -> None:
    connect(call)
    connect(call, mailbox="other@callproof.test", user="rep-2")
    google.mailbox(DEFAULT_MAILBOX).watched_until = 0
    boto3.client("dynamodb").update_item(  # rep-1's watch ends in an hour: due for renewal
        TableName=aws_stack["MailTable"].ref,
        Key={"pk": {"S": "ORG#org-a"}, "sk": {"S": "GMAIL#USER#rep-1"}},
        UpdateExpression="SET watch_expiration = :e",
        ExpressionAttributeValues={":e": {"N": str(int(time.time() * 1000) + 3_600_000)}},
    )
    event = {"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}
    result = call.raw("GmailWatchFunction", event)  # type: ignore[attr-defined]
    assert result["mailboxes"] == 2
    assert result["renewal_failures"] == 0
    assert (result["renewed"], result["polled"], result["lapsed"]) == (1, 0, 0)
    assert google.mailbox(DEFAULT_MAILBOX).watched_until > time.time() * 1000 + 6 * 86_400_000
    status, body = call("GmailFunction", api_event("GET", "/v1/integrations/google"))
    assert body["watch_expiration"] == google.mailbox(DEFAULT_MAILBOX).watched_until


def person(name: str, email: str, phone: str | None = None, company: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"names": [{"displayName": name}], "emailAddresses": [{"value": email}]}
    if phone:
        data["phoneNumbers"] = [{"value": phone}]
    if company:
        data["organizations"] = [{"name": company}]
    return data


def import_google(call: Invoke, aws_stack: dict[str, Physical], **who: Any) -> dict[str, Any]:
    """POST the Google Contacts import (202: a job), deliver the queued runs to the import worker
    (ContactImportFunction) as Lambda would, and answer the job as GET shows it."""
    from tests.integration.contacts.test_contact_import_jobs_api import work

    status, job = call("GmailFunction", api_event("POST", "/v1/contacts/imports/google", **who))
    assert status == 202, job
    assert (job["source"], job["status"], job["rows_done"]) == ("google", "running", 0)
    assert work(call, aws_stack) == [{"batchItemFailures": []}]
    path = f"/v1/contacts/imports/{job['import_id']}"
    status, done = call("ContactsFunction", api_event("GET", path, **who))
    assert status == 200, done
    assert (done["import_id"], done["source"], done["status"]) == (job["import_id"], "google", "done")
    return dict(done)


def test_google_contacts_import(call: Invoke, aws_stack: dict[str, Physical], google: GoogleDouble) -> None:
    add_contact(call, "ada@customer.example")
    connect(call)
    imported = api_event("POST", "/v1/contacts/imports/google")
    status, body = call("GmailFunction", imported)
    assert (status, body["error"]["code"]) == (409, "google_scope_missing")
    connect(call, contacts=True)  # incremental consent
    google.add_people(
        DEFAULT_MAILBOX,
        [
            person("Ada L", "ada@customer.example", "+1 415 555 0100"),  # existing contact: gains a phone
            person("Bob Buyer", "bob@buyer.example", company="Buyer Inc"),
        ],
    )
    body = import_google(call, aws_stack)
    assert body["full_sync"] is True
    assert (body["rows_done"], body["counts"]["created"], body["counts"]["updated"]) == (2, 1, 1)
    again = import_google(call, aws_stack)  # nothing changed since: incremental, empty
    assert (again["full_sync"], again["rows_done"], again["counts"]["created"]) == (False, 0, 0)
    google.add_people(DEFAULT_MAILBOX, [person("Cy", "cy@c.example")])
    third = import_google(call, aws_stack)
    assert (third["rows_done"], third["counts"]["created"]) == (1, 1)
    requests.post(f"{google.url}/_double/mailboxes/{DEFAULT_MAILBOX}/expire-people-sync", timeout=5)
    full = import_google(call, aws_stack)
    assert (full["full_sync"], full["rows_done"], full["counts"]["created"], full["counts"]["duplicate"]) == (
        True,
        3,
        0,
        3,
    )
    status, found = call(
        "ContactsFunction", api_event("POST", "/v1/contacts/lookup", body={"emails": ["bob@buyer.example"]})
    )
    assert [c["company"] for c in found["emails"]["bob@buyer.example"]] == ["Buyer Inc"]

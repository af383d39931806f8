"""Issue 17, points 1-3 through the template's routes (handlers on moto, Google played by the local
double over loopback): chosen labels, two reps on one thread, the list's filters, the thread view,
sanitised HTML, bad input answered 4xx with nothing changed, and what a stranger can do."""

from __future__ import annotations

from typing import Any

import pytest

from callproof_local.google_double import DEFAULT_MAILBOX, GoogleDouble
from callproof_local.template import Physical
from tests.integration.conftest import Invoke
from tests.integration.mail.test_gmail_api import add_contact, connect, drain, google, push_event
from tests.support import api_event

__all__ = ["google"]  # the fixture, shared with the Gmail API tests
BEN = "ben@callproof.test"
LABELS = "/v1/integrations/google/labels"


def eml(sender: str, to: str, subject: str, message_id: str, reply_to: str = "", html: str = "") -> bytes:
    lines = [f"From: {sender}", f"To: {to}", f"Subject: {subject}", f"Message-ID: {message_id}"]
    lines += [f"In-Reply-To: {reply_to}", f"References: {reply_to}"] if reply_to else []
    lines += [
        "Date: Mon, 30 Nov 2026 10:00:00 +0000",
        f"Content-Type: text/{'html' if html else 'plain'}",
        "",
    ]
    return ("\r\n".join(lines) + "\r\n" + (html or "Hello") + "\r\n").encode()


def sync(
    call: Invoke, aws_stack: dict[str, Physical], google: GoogleDouble, mailbox: str, history: int
) -> None:
    assert (
        call("GmailPushFunction", push_event(google, {"emailAddress": mailbox, "historyId": history}))[0]
        == 204
    )
    assert all(r["batchItemFailures"] == [] for r in drain(call, aws_stack))


def get(call: Invoke, path: str, resource: str | None = None, **kwargs: Any) -> tuple[int, Any]:
    return call("GmailFunction", api_event("GET", path, resource=resource, **kwargs))


def test_a_user_picks_a_label_and_only_its_mail_syncs(
    call: Invoke, aws_stack: dict[str, Physical], google: GoogleDouble
) -> None:
    add_contact(call, "ada@customer.example")
    connect(call)
    label = google.add_label(DEFAULT_MAILBOX, "Customers")
    status, body = get(call, LABELS)
    assert status == 200, body
    assert body["selected"] == ["INBOX", "SENT"]
    assert {"id": label, "name": "Customers", "type": "user", "selected": False} in body["labels"]
    for bad in ({"labels": []}, {"labels": ["SPAM"]}, {"labels": ["Label_404"]}, {"labels": ["a b"]}, {}):
        status, refused = call("GmailFunction", api_event("PUT", LABELS, body=bad))
        assert 400 <= status < 500, (bad, refused)
        assert refused["error"]
    assert google.mailbox(DEFAULT_MAILBOX).watched_labels == ["INBOX", "SENT"]  # nothing changed
    status, chosen = call("GmailFunction", api_event("PUT", LABELS, body={"labels": [label]}))
    assert (status, chosen["labels"]) == (200, [label])
    assert google.mailbox(DEFAULT_MAILBOX).watched_labels == [label]  # the watch renewed on exactly it
    google.deliver(DEFAULT_MAILBOX, eml("ada@customer.example", DEFAULT_MAILBOX, "In the inbox", "<i@x>"))
    _, history = google.deliver(
        DEFAULT_MAILBOX, eml("ada@customer.example", DEFAULT_MAILBOX, "Labelled", "<l@x>"), ["INBOX", label]
    )
    sync(call, aws_stack, google, DEFAULT_MAILBOX, history)
    status, page = get(call, "/v1/emails")
    assert [e["subject"] for e in page["items"]] == ["Labelled"]
    # back to the inbox alone, purging what only the label brought: the labelled message had INBOX too
    status, chosen = call(
        "GmailFunction", api_event("PUT", LABELS, body={"labels": ["INBOX"]}, query={"purge": "true"})
    )
    assert (status, chosen["purged_emails"]) == (200, 0), chosen
    assert [e["subject"] for e in get(call, "/v1/emails")[1]["items"]] == ["Labelled"]
    # a member without a mailbox, and another org, see no labels
    assert get(call, LABELS, user="rep-7")[0] == 404
    assert get(call, LABELS, org="org-b")[0] == 404


def test_two_reps_share_a_thread_listed_once_filtered_and_read_as_one(
    call: Invoke, aws_stack: dict[str, Physical], google: GoogleDouble
) -> None:
    contact = add_contact(call, "ada@customer.example")
    connect(call)
    connect(call, BEN, user="rep-2")
    both = f"{DEFAULT_MAILBOX}, {BEN}"
    html = (
        '<p onclick="x()">Our <b>quote</b><script>steal()</script><img src="https://pixel.example/t.gif"></p>'
    )
    quote = eml("ada@customer.example", both, "Quote", "<q@customer.example>", html=html)
    _, first = google.deliver(DEFAULT_MAILBOX, quote)
    google.deliver(BEN, quote)
    reply = eml(
        BEN, "ada@customer.example", "Re: Quote", "<r@callproof.test>", reply_to="<q@customer.example>"
    )
    _, second = google.deliver(BEN, reply, ["SENT"])
    sync(call, aws_stack, google, DEFAULT_MAILBOX, first)
    sync(call, aws_stack, google, BEN, second)

    status, timeline = get(call, f"/v1/contacts/{contact}/emails", "/v1/contacts/{contact_id}/emails")
    assert status == 200, timeline
    assert [(e["subject"], e["mailboxes"]) for e in timeline["items"]] == [
        ("Re: Quote", ["rep-2"]),
        ("Quote", ["rep-1", "rep-2"]),
    ]

    def subjects(query: dict[str, str], user: str = "rep-1") -> list[str]:
        status, page = get(call, "/v1/emails", query=query, user=user)
        assert status == 200, page
        return [e["subject"] for e in page["items"]]

    assert subjects({"mailbox": "me"}) == ["Quote"]
    assert subjects({"mailbox": "me"}, user="rep-2") == ["Re: Quote", "Quote"]
    assert subjects({"from": "ADA@customer.example"}) == ["Quote"]
    assert subjects({"to": "ada@customer.example"}) == ["Re: Quote"]
    assert subjects({"q": "RE:"}) == ["Re: Quote"]
    assert subjects({"contact_id": contact, "after": "2020-01-01T00:00:00Z", "before": "2100-01-01"}) == [
        "Re: Quote",
        "Quote",
    ]
    assert subjects({"before": "2020-01-01T00:00:00Z"}) == []
    status, page = get(call, "/v1/emails", query={"limit": "1"})
    status, rest = get(call, "/v1/emails", query={"limit": "1", "cursor": page["next_cursor"]})
    assert [e["subject"] for e in page["items"] + rest["items"]] == ["Re: Quote", "Quote"]

    thread_id = timeline["items"][0]["thread_id"]
    status, thread = get(call, f"/v1/email-threads/{thread_id}", "/v1/email-threads/{thread_id}")
    assert status == 200, thread
    assert [m["subject"] for m in thread["items"]] == ["Quote", "Re: Quote"]
    shown = thread["items"][0]["html"]
    assert "<b>quote</b>" in shown
    for gone in ("script", "onclick", "pixel.example"):
        assert gone not in shown
    email_id = thread["items"][0]["email_id"]
    status, asked = get(
        call, f"/v1/emails/{email_id}", "/v1/emails/{email_id}", query={"remote_images": "true"}
    )
    assert "https://pixel.example/t.gif" in asked["html"]
    assert "script" not in asked["html"]

    # bad input: a clear 4xx with a JSON error
    for query in (
        {"mailbox": "you"},
        {"from": "not-an-address"},
        {"limit": "0"},
        {"after": "2026-12-01", "before": "2026-11-01"},
        {"after": "yesterday"},
        {"before": "0.5"},  # not read as a Unix timestamp
        {"after": "1795773600"},
        {"cursor": "bm90LWEtY3Vyc29y"},
        {"contact_id": "c-404"},
    ):
        status, refused = get(call, "/v1/emails", query=query)
        assert 400 <= status < 500, (query, refused)
        assert refused["error"]
    assert get(call, "/v1/email-threads/not-a-thread", "/v1/email-threads/{thread_id}")[0] == 404

    # a stranger (another org) with every id in hand: nothing
    assert get(call, "/v1/emails", org="org-b")[1]["items"] == []
    assert get(call, "/v1/emails", query={"contact_id": contact}, org="org-b")[0] == 404
    assert get(call, f"/v1/email-threads/{thread_id}", "/v1/email-threads/{thread_id}", org="org-b")[0] == 404
    assert get(call, f"/v1/emails/{email_id}", "/v1/emails/{email_id}", org="org-b")[0] == 404
    status, refused = get(call, "/v1/emails", query={"cursor": page["next_cursor"]}, org="org-b")
    assert (status, refused["error"]["field"]) == (422, "cursor")


@pytest.mark.parametrize("path", ["/v1/emails", LABELS])
def test_the_mail_routes_need_a_signed_in_caller(call: Invoke, path: str) -> None:
    event = api_event("GET", path)
    event["requestContext"].pop("authorizer", None)
    assert call("GmailFunction", event)[0] == 401

"""Privacy requests by email on moto (issue 15, point 1): SES's stored message and receipt event, as
the template's receipt rule delivers them, through PrivacyInboxFunction. A message to
privacy+<slug>@ files a request pending the sender's confirmation link and runs nothing; a redelivery
files nothing more; a spoofed (DMARC FAIL) message is held for staff with no mail sent; what a stranger
can send (no slug, spam, loops, several senders, garbage events) files nothing and never crashes."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

import boto3
import pytest

from callproof_local import invoke
from callproof_local.mail_in import ReceiptRule, ses_event
from tests.integration.dsar.test_dsar_identity_proof import Sms, contact, dsar, sms, staff  # noqa: F401
from tests.support import api_event

TO = "privacy+acme@privacy.callproof.example"
PASSING = {"spf": "PASS", "dkim": "PASS", "dmarc": "PASS", "spam": "PASS", "virus": "PASS"}


@pytest.fixture
def inbox(dsar: Sms) -> Sms:  # noqa: F811
    event = api_event("PUT", "/v1/org/settings", body={"slug": "acme"}, roles="admin", user="admin-1")
    assert dsar.json(event, "AccountsFunction")[0] == 200
    return dsar


def message(
    subject: str, body: str = "Thank you.", sender: str = "Ada <ada@example.com>", **headers: str
) -> bytes:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = TO
    mail["Subject"] = subject
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content(body)
    return bytes(mail)


def stored(
    stack: Sms, raw: bytes, *, message_id: str = "0" * 40, to: str = TO, **verdicts: str
) -> dict[str, Any]:
    """Store the message as the rule's S3 action does; the receipt event its Lambda action sends."""
    bucket = stack.stack["InboundMailBucket"].ref
    boto3.client("s3").put_object(Bucket=bucket, Key=f"inbound/{message_id}", Body=raw)
    rule = ReceiptRule(
        ("privacy.callproof.example",), "InboundMailBucket", "inbound/", "PrivacyInboxFunction"
    )
    return ses_event(rule, message_id, raw, [to], {**PASSING, **verdicts}, "arn:aws:lambda:fn")


def receive(stack: Sms, raw: bytes, **options: str) -> dict[str, Any]:
    return deliver(stack, stored(stack, raw, **options))


def deliver(stack: Sms, event: dict[str, Any]) -> dict[str, Any]:
    return dict(invoke.invoke(stack.functions["PrivacyInboxFunction"], event))


def requests(stack: Sms) -> list[dict[str, Any]]:
    status, listed = staff(stack, "GET", "/v1/dsar/requests")
    assert status == 200
    return [staff(stack, "GET", f"/v1/dsar/requests/{item['id']}")[1] for item in listed["items"]]


def sent_to(address: str) -> list[Any]:
    from moto.ses.models import ses_backends

    return [
        m
        for m in ses_backends["123456789012"]["us-east-1"].sent_messages
        if address in m.destinations["ToAddresses"]
    ]


def test_a_request_by_mail_waits_for_the_confirmation_link_and_a_redelivery_adds_nothing(inbox: Sms) -> None:
    event = stored(inbox, message("Please delete my data", "I no longer want to hear from you."))
    answer = deliver(inbox, event)
    assert answer["outcome"] == "filed", answer
    [request] = requests(inbox)
    assert (request["type"], request["status"]) == ("erasure", "pending_confirmation")
    assert request["subject"]["proven"] == []  # nothing is proven before the link
    assert "I no longer want to hear from you." in request["details"]
    [mail] = sent_to("ada@example.com")
    assert "/privacy/confirm?token=" in mail.body

    again = deliver(inbox, event)  # SES retries an asynchronous invocation
    assert again == {**answer, "outcome": "duplicate", "reason": "already received"}
    assert len(requests(inbox)) == 1
    assert len(sent_to("ada@example.com")) == 1


def test_a_message_failing_dmarc_is_held_for_staff_and_sends_nothing(inbox: Sms) -> None:
    answer = receive(inbox, message("Access request", sender="ceo@bank.example"), dmarc="FAIL")
    assert answer["outcome"] == "held", answer
    [request] = requests(inbox)
    assert (request["type"], request["status"]) == ("access", "needs_review")
    assert request["subject"]["candidates"] == []
    assert sent_to("ceo@bank.example") == []  # no link to confirm: nothing can run
    for verdicts in ({"spf": "FAIL"}, {"dkim": "FAIL"}, {"spf": "GRAY", "dkim": "GRAY", "dmarc": "GRAY"}):
        held = receive(inbox, message("Access request"), message_id=f"{len(verdicts)}{'1' * 39}", **verdicts)
        assert held["outcome"] == "held", verdicts


def test_the_type_is_read_from_the_subject_or_the_body_and_unclear_mail_goes_to_staff(inbox: Sms) -> None:
    cases = [
        (message("Complaint", "You kept texting me after I said STOP."), "filed", "complaint"),
        (message("Hello", "Please send me a copy of my data."), "filed", "access"),
        (message("Hello", "Delete everything and send me a copy first."), "held", "access"),
        (message("Question", "Who are you?"), "held", "access"),
        (message("Transfer my data", "to dpo@other.example"), "held", "portability"),
    ]
    for number, (raw, outcome, kind) in enumerate(cases):
        answer = receive(inbox, raw, message_id=f"{number:040d}")
        assert answer["outcome"] == outcome, (kind, answer)
        stored = staff(inbox, "GET", f"/v1/dsar/requests/{answer['request_id']}")[1]
        assert stored["type"] == kind


def test_what_a_stranger_sends_files_nothing(inbox: Sms) -> None:
    for number, (raw, to, verdicts, reason) in enumerate([
        (message("Delete my data"), "privacy@privacy.callproof.example", {}, "no org slug"),
        (message("Delete my data"), "privacy+nobody@privacy.callproof.example", {}, "no org slug"),
        (message("Delete my data"), "privacy+acme@elsewhere.example", {}, "no org slug"),
        (message("Delete my data"), TO, {"spam": "FAIL"}, "spam or virus"),
        (message("Delete my data"), TO, {"virus": "FAIL"}, "spam or virus"),
        (message("Auto: delete my data", Auto_Submitted="auto-replied"), TO, {}, "automatic"),
        (message("Delete my data", Precedence="bulk"), TO, {}, "automatic"),
        (message("Delete my data", sender="a@example.com, b@example.com"), TO, {}, "no single sender"),
        (message("Delete my data", sender="privacy@callproof.example"), TO, {}, "our own"),
        (message("Delete my data", sender="not an address"), TO, {}, "no single sender"),
    ]):  # fmt: skip
        answer = receive(inbox, raw, message_id=f"{number:040d}", to=to, **verdicts)
        assert answer["outcome"] == "dropped", (reason, answer)
        assert reason.split()[0] in answer["reason"], (reason, answer)
    for garbage in ({}, {"Records": []}, {"Records": [{"eventSource": "aws:sqs"}]}, {"Records": "x"}):
        answer = invoke.invoke(inbox.functions["PrivacyInboxFunction"], garbage)
        assert answer["outcome"] == "dropped", garbage
    assert requests(inbox) == []


UNNAMED = "privacy@privacy.callproof.example"


def test_mail_naming_no_org_is_filed_in_each_org_holding_the_sender(inbox: Sms) -> None:
    """The contact's org (org-a) by the contacts' email index, the member's org (org-b) by the user
    pool; an address no org holds, or a contact since removed, files nothing."""
    contact_id = contact(inbox, "Ada", "ada@example.com", "+14155550111")
    member = {"email": "ada@example.com", "full_name": "Ada", "roles": ["rep"]}
    event = api_event("POST", "/v1/org/members", body=member, org="org-b", roles="admin", user="admin-b")
    assert inbox.json(event, "AccountsFunction")[0] == 201

    answer = receive(inbox, message("Please delete my data"), to=UNNAMED)
    assert answer["outcome"] == "filed", answer
    filed = [
        (mail.destinations["ToAddresses"], "/privacy/confirm?token=" in mail.body)
        for mail in sent_to("ada@example.com")
    ]
    assert filed == [(["ada@example.com"], True)] * 2  # one confirmation per org, nothing runs before it
    assert [(r["type"], r["status"]) for r in requests(inbox)] == [("erasure", "pending_confirmation")]
    event = api_event("GET", "/v1/dsar/requests", org="org-b", user="staff-b", roles="compliance")
    assert len(inbox.json(event, "DsarFunction")[1]["items"]) == 1

    assert receive(inbox, message("Delete my data", sender="eve@example.com"), message_id="9" * 40, to=UNNAMED) == {
        "outcome": "dropped", "reason": "no org named, and none holds the sender", "request_id": None
    }  # fmt: skip
    event = api_event("DELETE", f"/v1/contacts/{contact_id}", resource="/v1/contacts/{contact_id}")
    assert inbox.json(event, "ContactsFunction")[0] == 204
    again = receive(inbox, message("Export my data"), message_id="8" * 40, to=UNNAMED)
    assert again["outcome"] == "filed"  # still a member of org-b
    assert len(requests(inbox)) == 1  # the removed contact no longer ties org-a to the address

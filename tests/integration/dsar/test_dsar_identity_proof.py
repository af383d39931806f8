"""Identity proof on moto: one-time codes and rate counters on DynamoDB, and the DSAR function's
public confirmation with the phone code (texted through the Twilio double) and the staff review."""

from __future__ import annotations

import json
import re
from typing import Any

import boto3
import pytest

from callproof import aws
from callproof.errors import TooManyRequests
from callproof.otp import MAX_TRIES, CodeLocked, CodeUnavailable, OneTimeCodes, WrongCode
from callproof.ratelimit import RateLimits
from callproof.store.codes_dynamo import DynamoOneTimeCodes
from callproof.store.rates_dynamo import DynamoRateCounter
from callproof_local.template import Physical
from tests.integration.sms.test_sms_api import ADA, Sms, setup_org, sms  # noqa: F401
from tests.support import api_event, form_event

KEY = b"k" * 32
MALLORY = "mallory@evil.example"
SWITCHBOARD = "+14155550150"


def table_items(stack: dict[str, Physical], table: str) -> list[dict[str, Any]]:
    return boto3.client("dynamodb").scan(TableName=stack[table].ref)["Items"]  # test-only


def test_codes_on_dynamodb_are_single_use_hashed_and_lock_after_five_tries(
    aws_stack: dict[str, Physical],
) -> None:
    codes = OneTimeCodes(DynamoOneTimeCodes(aws.dynamodb(), aws_stack["SmsTable"].ref), lambda: KEY)
    code = codes.issue("org-a", f"dsar:{ADA}")
    text = json.dumps(table_items(aws_stack, "SmsTable"))
    assert code not in text
    assert ADA not in text
    assert ADA.lstrip("+") not in text
    codes.verify("org-a", f"dsar:{ADA}", code)
    with pytest.raises(CodeUnavailable):  # replayed
        codes.verify("org-a", f"dsar:{ADA}", code)

    code = codes.issue("org-a", "other")
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(MAX_TRIES - 1):
        with pytest.raises(WrongCode):
            codes.verify("org-a", "other", wrong)
    for attempt in (wrong, code):
        with pytest.raises(CodeLocked):
            codes.verify("org-a", "other", attempt)
    with pytest.raises(CodeUnavailable):
        codes.verify("org-b", "other", code)


def test_rate_counters_on_dynamodb_cross_orgs_and_keep_no_address(aws_stack: dict[str, Physical]) -> None:
    limits = RateLimits(DynamoRateCounter(aws.dynamodb(), aws_stack["DsarTable"].ref), lambda: KEY)
    for _ in range(2):
        limits.charge("privacy-request", 2, "ip:203.0.113.9")
    with pytest.raises(TooManyRequests):
        limits.charge("privacy-request", 2, "ip:203.0.113.9")
    items = table_items(aws_stack, "DsarTable")
    assert [int(item["count"]["N"]) for item in items] == [2]
    assert "203.0.113.9" not in json.dumps(items)
    assert all(item["pk"]["S"].startswith("RATE#") and "expires_at" in item for item in items)


@pytest.fixture
def dsar(sms: Sms, monkeypatch: pytest.MonkeyPatch) -> Sms:  # noqa: F811
    monkeypatch.setenv("DSAR_PUBLIC_BASE_URL", "https://api.example/dev")
    aws.ses().verify_email_identity(EmailAddress="privacy@callproof.example")
    setup_org(sms)
    return sms


def contact(dsar: Sms, name: str, email: str, phone: str) -> str:
    body = {"name": name, "type": "customer", "emails": [email], "phones": [phone]}
    status, created = dsar.json(api_event("POST", "/v1/contacts", body=body), "ContactsFunction")
    assert status == 201, created
    return str(created["id"])


def staff(dsar: Sms, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    resource = re.sub(r"/requests/[^/]+", "/requests/{request_id}", path)
    event = api_event(method, path, resource=resource, body=body, user="staff-1", roles="compliance")
    return dsar.json(event, "DsarFunction")


def public_request(dsar: Sms, **fields: str) -> dict[str, Any]:
    event = form_event("/privacy/requests", {})
    body = {"org_id": "org-a", "type": "access", "email": MALLORY, "jurisdiction": "gdpr", **fields}
    event.update(body=json.dumps(body))
    event["headers"]["Content-Type"] = "application/json"
    return dsar.raw(event, "DsarPagesFunction")


def confirm(
    dsar: Sms, token: str, form: dict[str, str] | None = None, method: str = "POST"
) -> dict[str, Any]:
    return dsar.raw(
        form_event("/privacy/confirm", form or {}, method=method, query={"token": token}), "DsarPagesFunction"
    )


def link() -> str:
    from moto.ses.models import ses_backends

    [mail] = [
        m
        for m in ses_backends["123456789012"]["us-east-1"].sent_messages
        if MALLORY in m.destinations["ToAddresses"]
    ]
    return str(re.findall(r"token=(\S+)", mail.body)[0])


def codes_to(dsar: Sms, number: str) -> list[str]:
    return [re.findall(r"\b(\d{6})\b", m["body"])[0] for m in dsar.double.sent if m["to"] == number]


def only_request(dsar: Sms) -> dict[str, Any]:
    status, page = staff(dsar, "GET", "/v1/dsar/requests")
    assert status == 200
    [item] = page["items"]
    status, request = staff(dsar, "GET", f"/v1/dsar/requests/{item['id']}")
    assert status == 200
    return dict(request)


def test_the_phone_code_is_texted_from_the_org_sender_and_proves_the_phone(dsar: Sms) -> None:
    ada = contact(dsar, "Ada", "ada@example.com", ADA)
    assert public_request(dsar, phone=ADA)["statusCode"] == 202
    [code] = codes_to(dsar, ADA)
    assert dsar.double.sent[0]["from"] == "+15005550006"
    token = link()
    page = confirm(dsar, token, method="GET")
    assert page["statusCode"] == 200
    assert "Code from the text message" in page["body"]
    assert "0100" in page["body"]
    assert ADA not in page["body"]  # only the last four digits are shown

    wrong = confirm(dsar, token, {"code": f"{(int(code) + 1) % 1_000_000:06d}"})
    assert wrong["statusCode"] == 422
    assert "tries left" in wrong["body"]
    assert only_request(dsar)["status"] == "pending_confirmation"

    done = confirm(dsar, token, {"code": code})
    assert done["statusCode"] == 200, done["body"]
    request = only_request(dsar)
    assert request["subject"]["proven"] == ["email", "phone"]
    assert request["subject"]["unverified"] == []
    assert request["subject"]["contacts_found"] == [ada]


def test_without_the_code_the_phone_is_unverified_and_reaches_nothing(dsar: Sms) -> None:
    contact(dsar, "Ada", "ada@example.com", ADA)
    public_request(dsar, phone=ADA)
    token = link()
    resent = confirm(dsar, token, {"resend": "1"})
    assert resent["statusCode"] == 200
    assert len(codes_to(dsar, ADA)) == 2
    assert confirm(dsar, token)["statusCode"] == 200
    request = only_request(dsar)
    assert request["subject"]["unverified"] == ["phone"]
    assert request["subject"]["contacts_found"] == []
    assert confirm(dsar, token)["statusCode"] == 410


def test_staff_choose_the_subject_of_a_switchboard_request(dsar: Sms) -> None:
    ids = sorted(contact(dsar, name, f"{name}@corp.example", SWITCHBOARD) for name in ("a", "b", "c"))
    body = {
        "type": "access",
        "subject": {"phone": SWITCHBOARD},
        "jurisdiction": "gdpr",
        "received": "2026-11-20",
        "verification": "called back on the switchboard",
    }
    status, created = staff(dsar, "POST", "/v1/dsar/requests", body)
    assert status == 201, created
    assert created["status"] == "needs_review"
    assert [(c["kind"], c["id"], c["via"]) for c in created["subject"]["candidates"]] == [
        ("contact", contact_id, ["phone"]) for contact_id in ids
    ]
    path = f"/v1/dsar/requests/{created['id']}/subject"
    assert staff(dsar, "POST", path, {"contact_ids": ["someone-else"], "reason": "checked"})[0] == 422
    assert staff(dsar, "POST", path, {"contact_ids": [ids[0]]})[0] == 422  # a reason is required
    status, chosen = staff(dsar, "POST", path, {"contact_ids": [ids[0]], "reason": "ID checked by video"})
    assert status == 202, chosen
    assert chosen["status"] == "in_progress"
    assert chosen["subject"]["contacts_found"] == [ids[0]]
    assert staff(dsar, "POST", path, {"contact_ids": [ids[0]], "reason": "again"})[0] == 409
    event = api_event(
        "POST", path, resource="/v1/dsar/requests/{request_id}/subject", body={"contact_ids": [ids[0]], "reason": "abc"}, org="org-b",
        user="staff-2", roles="compliance",
    )  # fmt: skip
    assert dsar.json(event, "DsarFunction")[0] == 404

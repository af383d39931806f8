"""The SMS function on moto, invoked as API Gateway invokes it; Twilio REST calls go to the local double."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import boto3
import pytest

from callproof import config, wiring
from callproof.integrations.twilio_webhook import sign
from callproof_local import invoke, model
from callproof_local.template import Physical, Resolver, load_template
from callproof_local.twilio_double import DEV_ACCOUNT_SID, DEV_AUTH_TOKEN, TwilioDouble
from tests.integration.conftest import routed
from tests.support import TEMPLATE, api_event, form_event

BASE = "https://sms.example.test/dev"
INBOUND = "/webhooks/twilio/sms"
TWILIO_NUMBER = "+15005550006"
ADA = "+14155550100"


@dataclass
class Sms:
    functions: dict[str, model.Function]
    stack: dict[str, Physical]
    double: TwilioDouble

    def raw(self, event: dict[str, Any], function: str | None = None) -> dict[str, Any]:
        """The answer of the function the template routes the event to (``function``: the one the
        test expects)."""
        return invoke.invoke(routed(self.functions, function, event), event)  # type: ignore[no-any-return]

    def json(self, event: dict[str, Any], function: str | None = None) -> tuple[int, Any]:
        response = self.raw(event, function)
        return response["statusCode"], json.loads(response["body"]) if response.get("body") else None

    def inbound(
        self, params: dict[str, str], signature: str | None = None, url: str = BASE + INBOUND
    ) -> dict[str, Any]:
        headers = {
            "X-Twilio-Signature": signature if signature is not None else sign(DEV_AUTH_TOKEN, url, params)
        }
        return self.raw(form_event(INBOUND, params, headers=headers))

    @staticmethod
    def header(response: dict[str, Any], name: str) -> str:
        values = (response.get("multiValueHeaders") or {}).get(name) or [
            (response.get("headers") or {}).get(name)
        ]
        return str(values[0])

    def sms_items(self) -> list[dict[str, Any]]:
        return boto3.client("dynamodb").scan(TableName=self.stack["SmsTable"].ref)["Items"]  # test-only

    def kinds(self) -> list[str]:
        return sorted(
            item["pk"]["S"].split("#")[2] for item in self.sms_items() if item["pk"]["S"].count("#") >= 3
        )


@pytest.fixture
def sms(aws_stack: dict[str, Physical], monkeypatch: pytest.MonkeyPatch) -> Iterator[Sms]:
    double = TwilioDouble(callbacks=False).start()
    monkeypatch.setenv("SMS_PUBLIC_BASE_URL", BASE)
    monkeypatch.setenv("TWILIO_API_BASE_URL", double.url)
    boto3.client("secretsmanager").put_secret_value(
        SecretId=aws_stack["TwilioCredentialsSecret"].ref,
        SecretString=json.dumps({"account_sid": DEV_ACCOUNT_SID, "auth_token": DEV_AUTH_TOKEN}),
    )
    template = load_template(TEMPLATE)
    functions = model.load_functions(template, TEMPLATE.parent, Resolver(template, aws_stack))
    wiring.reset()  # a fresh Lambda environment per test (new tables, secrets, settings)
    config.clear_cache()
    try:
        yield Sms(functions, aws_stack, double)
    finally:
        double.stop()
        wiring.reset()


def setup_org(sms: Sms, org: str = "org-a", number: str = TWILIO_NUMBER) -> None:
    status, body = sms.json(
        api_event("PUT", "/v1/org/sms/senders", body={"phone_numbers": [number]}, org=org, roles="admin")
    )
    assert status == 200, body


def contact(sms: Sms, kind: str = "customer", org: str = "org-a", phone: str = ADA) -> str:
    event = api_event("POST", "/v1/contacts", body={"name": "Ada", "type": kind, "phones": [phone]}, org=org)
    status, body = sms.json(event, "ContactsFunction")
    assert status == 201, body
    return str(body["id"])


def message(body: str, sid: str = "SM" + "1" * 32, sender: str = ADA) -> dict[str, str]:
    return {
        "MessageSid": sid,
        "AccountSid": DEV_ACCOUNT_SID,
        "From": sender,
        "To": TWILIO_NUMBER,
        "Body": body,
    }


def send(sms: Sms, contact_id: str, org: str = "org-a", text: str = "Hi Ada") -> tuple[int, Any]:
    return sms.json(
        api_event("POST", "/v1/sms/messages", body={"contact_id": contact_id, "body": text}, org=org)
    )


def consent(sms: Sms, number: str = ADA, org: str = "org-a") -> Any:
    status, body = sms.json(api_event("POST", "/v1/sms/consent/lookup", body={"phone": number}, org=org))
    assert status == 200, body
    return body


# ------------------------------------------------------------------------------------ inbound
def test_replaying_a_signed_stop_three_times_yields_one_ledger_entry(sms: Sms) -> None:
    setup_org(sms)
    for _ in range(3):
        response = sms.inbound(message("Stop."))
        assert response["statusCode"] == 200
        assert sms.header(response, "Content-Type") == "text/xml"
        assert response["body"] == '<?xml version="1.0" encoding="UTF-8"?><Response />'
    history = consent(sms)["history"]
    assert [(h["status"], h["source"], h["keyword"]) for h in history] == [("opted_out", "keyword", "STOP")]
    assert sms.kinds() == ["CONSENT", "INBOUND"]


def test_replaying_a_text_from_a_contact_stores_one_message(sms: Sms) -> None:
    setup_org(sms)
    contact_id = contact(sms)
    for _ in range(3):
        assert sms.inbound(message("Running late, 10 min"))["statusCode"] == 200
    path = f"/v1/contacts/{contact_id}/sms"
    status, thread = sms.json(api_event("GET", path, resource="/v1/contacts/{contact_id}/sms"))
    assert status == 200
    assert [(m["body"], m["direction"]) for m in thread["items"]] == [("Running late, 10 min", "inbound")]


@pytest.mark.parametrize(
    "signature",
    [
        "",  # missing
        "GvWf1cFY/Q7PnoempGyD5oXAezc=",  # someone else's
        sign(DEV_AUTH_TOKEN, "http://localhost:3000" + INBOUND, message("STOP")),  # the Host header's URL
        sign("another-token", BASE + INBOUND, message("STOP")),
    ],
)
def test_bad_signature_is_403_and_stores_nothing(sms: Sms, signature: str) -> None:
    setup_org(sms)
    before = sms.sms_items()
    response = sms.inbound(message("STOP"), signature=signature)
    assert response["statusCode"] == 403
    assert sms.sms_items() == before


def test_tampered_body_fails_the_signature(sms: Sms) -> None:
    setup_org(sms)
    signature = sign(DEV_AUTH_TOKEN, BASE + INBOUND, message("hello"))
    assert sms.inbound(message("STOP"), signature=signature)["statusCode"] == 403
    assert consent(sms)["status"] == "none"


def _inbound_with_query(sms: Sms, query: dict[str, list[str]], signed_url: str) -> dict[str, Any]:
    """An inbound message at ``INBOUND`` with ``query`` as API Gateway passes it, signed over ``signed_url``."""
    params = message("STOP")
    event = form_event(
        INBOUND, params, headers={"X-Twilio-Signature": sign(DEV_AUTH_TOKEN, signed_url, params)}
    )
    event["queryStringParameters"] = {name: values[-1] for name, values in query.items()}
    event["multiValueQueryStringParameters"] = query
    return sms.raw(event)


def test_a_signature_without_the_query_is_refused_where_twilio_called_with_one(sms: Sms) -> None:
    """Issue 13, point 5: the query string Twilio called is part of what it signed."""
    setup_org(sms)
    response = _inbound_with_query(sms, {"x": ["1"]}, BASE + INBOUND)
    assert response["statusCode"] == 403
    assert consent(sms)["status"] == "none"


@pytest.mark.parametrize(
    ("query", "signed_query"),
    [
        ({"x": ["1"]}, "?x=1"),
        ({"org": ["acme"], "tag": ["a b", "c"]}, "?org=acme&tag=a+b&tag=c"),
        ({"next": ["/a/b"], "to": ["+14155550100"]}, "?next=/a/b&to=%2B14155550100"),
    ],
)
def test_a_signature_over_the_url_with_its_query_is_accepted(
    sms: Sms, query: dict[str, list[str]], signed_query: str
) -> None:
    setup_org(sms)
    assert _inbound_with_query(sms, query, BASE + INBOUND + signed_query)["statusCode"] == 200
    assert consent(sms)["status"] == "opted_out"


def test_a_signature_over_another_query_is_refused(sms: Sms) -> None:
    setup_org(sms)
    assert _inbound_with_query(sms, {"x": ["2"]}, BASE + INBOUND + "?x=1")["statusCode"] == 403
    assert _inbound_with_query(sms, {"x": ["1"], "y": ["2"]}, BASE + INBOUND + "?x=1")["statusCode"] == 403
    assert consent(sms)["status"] == "none"


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({k: v for k, v in message("hi").items() if k != "MessageSid"}, 422, "MessageSid"),
        ({k: v for k, v in message("hi").items() if k != "Body"}, 422, "Body"),
        ({**message("hi"), "From": "not a number"}, 422, "From"),
        ({**message("hi"), "From": "+1555"}, 422, "From"),
        (message("x" * 1601), 422, "Body"),
    ],
)
def test_bad_input_is_4xx_and_stores_nothing(
    sms: Sms, params: dict[str, str], status: int, field: str
) -> None:
    setup_org(sms)
    contact(sms)
    before = sms.sms_items()
    response = sms.inbound(params)
    assert response["statusCode"] == status
    assert json.loads(response["body"])["error"]["field"] == field
    assert sms.sms_items() == before


def test_body_of_1600_characters_is_accepted_and_oversize_forms_are_413(sms: Sms) -> None:
    setup_org(sms)
    contact(sms)
    assert sms.inbound(message("x" * 1600))["statusCode"] == 200
    huge = message("y" * 1500, sid="SM" + "2" * 32) | {f"Pad{i}": "z" * 200 for i in range(90)}
    assert sms.inbound(huge)["statusCode"] == 413


def test_unregistered_to_number_gets_empty_twiml_and_nothing_is_stored(sms: Sms) -> None:
    contact(sms)
    response = sms.inbound(message("STOP"))
    assert response["statusCode"] == 200
    assert "<Response />" in response["body"]
    assert sms.sms_items() == []


def test_help_reply_is_twiml_with_brand_and_rates(sms: Sms) -> None:
    setup_org(sms)
    event = api_event(
        "PUT",
        "/v1/org/sms/settings",
        body={"brand": "Acme <Sales>", "support_contact": "+1 800 555 0100"},
        roles="admin",
    )
    assert sms.json(event)[0] == 200
    body = sms.inbound(message("HELP"))["body"]
    assert "<Message>Acme &lt;Sales&gt;: " in body
    assert "Msg &amp; data rates may apply" in body


# ------------------------------------------------------------------------------------ sending
def test_send_reaches_the_twilio_double_and_the_thread(sms: Sms) -> None:
    setup_org(sms)
    contact_id = contact(sms)
    status, sent = send(sms, contact_id)
    assert status == 201, sent
    (recorded,) = sms.double.sent
    assert (recorded["to"], recorded["from"], recorded["body"]) == (ADA, TWILIO_NUMBER, "Hi Ada")
    assert recorded["status_callback"] == (
        f"{BASE}/webhooks/twilio/sms/status/org-a/{contact_id}/{sent['id']}"
    )
    assert sent["message_sid"] == recorded["sid"]


def test_opt_out_then_send_is_refused_and_nothing_is_sent(sms: Sms) -> None:
    setup_org(sms)
    contact_id = contact(sms)
    sms.inbound(message("unsubscribe"))
    status, body = send(sms, contact_id)
    assert (status, body["error"]["code"]) == (409, "opted_out")
    assert sms.double.sent == []


def test_prospects_are_never_texted(sms: Sms) -> None:
    setup_org(sms)
    status, body = send(sms, contact(sms, "prospect"))
    assert (status, body["error"]["code"]) == (422, "not_a_customer")
    assert sms.double.sent == []


def test_restricted_contact_is_refused(sms: Sms) -> None:
    setup_org(sms)
    contact_id = contact(sms)
    boto3.client("dynamodb").update_item(
        TableName=sms.stack["ContactsTable"].ref,
        Key={"pk": {"S": "ORG#org-a"}, "sk": {"S": f"CONTACT#{contact_id}"}},
        UpdateExpression="SET restricted = :t",
        ExpressionAttributeValues={":t": {"BOOL": True}},
    )
    status, body = send(sms, contact_id)
    assert (status, body["error"]["code"]) == (409, "restricted")


def test_twilio_21610_records_a_carrier_opt_out(sms: Sms) -> None:
    setup_org(sms)
    contact_id = contact(sms)
    sms.double.opted_out.add(ADA)
    status, body = send(sms, contact_id)
    assert (status, body["error"]["code"]) == (409, "opted_out")
    assert [(h["source"], h["keyword"]) for h in consent(sms)["history"]] == [("carrier", "21610")]


def test_daily_cap(sms: Sms) -> None:
    setup_org(sms)
    event = api_event("PUT", "/v1/org/sms/settings", body={"daily_cap": 1}, roles="admin")
    assert sms.json(event)[0] == 200
    contact_id = contact(sms)
    assert send(sms, contact_id)[0] == 201
    status, body = send(sms, contact_id)
    assert (status, body["error"]["code"]) == (409, "daily_cap_reached")
    assert len(sms.double.sent) == 1


def test_signed_status_callback_records_delivery(sms: Sms) -> None:
    setup_org(sms)
    contact_id = contact(sms)
    _, sent = send(sms, contact_id)
    path = f"/webhooks/twilio/sms/status/org-a/{contact_id}/{sent['id']}"
    resource = "/webhooks/twilio/sms/status/{org_id}/{contact_id}/{message_id}"
    params = {
        "MessageSid": sent["message_sid"],
        "MessageStatus": "delivered",
        "To": ADA,
        "From": TWILIO_NUMBER,
    }
    forged = form_event(path, {**params, "MessageStatus": "failed"}, resource=resource,
                        headers={"X-Twilio-Signature": sign(DEV_AUTH_TOKEN, BASE + path, params)})  # fmt: skip
    assert sms.raw(forged)["statusCode"] == 403
    signed = form_event(
        path,
        params,
        resource=resource,
        headers={"X-Twilio-Signature": sign(DEV_AUTH_TOKEN, BASE + path, params)},
    )
    assert sms.raw(signed)["statusCode"] == 200
    _, thread = sms.json(
        api_event("GET", f"/v1/contacts/{contact_id}/sms", resource="/v1/contacts/{contact_id}/sms")
    )
    assert thread["items"][0]["status"] == "delivered"


# ---------------------------------------------------------------------------------- tenancy
def test_another_org_sees_nothing_of_org_a(sms: Sms) -> None:
    setup_org(sms)
    contact_id = contact(sms)
    sms.inbound(message("STOP"))
    assert consent(sms, org="org-b")["status"] == "none"
    path = f"/v1/contacts/{contact_id}/sms"
    status, _ = sms.json(api_event("GET", path, resource="/v1/contacts/{contact_id}/sms", org="org-b"))
    assert status == 404
    assert send(sms, contact_id, org="org-b")[0] == 404
    event = api_event(
        "PUT", "/v1/org/sms/senders", body={"phone_numbers": [TWILIO_NUMBER]}, org="org-b", roles="admin"
    )
    status, body = sms.json(event)
    assert (status, body["error"]["code"]) == (409, "conflict")  # a number belongs to one org


def test_reps_cannot_configure_senders(sms: Sms) -> None:
    status, _ = sms.json(api_event("PUT", "/v1/org/sms/senders", body={"phone_numbers": [TWILIO_NUMBER]}))
    assert status == 403


# ---------------------------------------------------------------------------- consent by API
def test_consent_is_read_and_recorded_with_the_number_in_the_body(sms: Sms) -> None:
    """Issue 13, point 6: numbers never go in URLs, which reach access logs."""
    record = api_event("POST", "/v1/sms/consent", body={"phone": "(415) 555-0100", "status": "opted_out"})
    status, body = sms.json(record, "SmsFunction")
    assert status == 200, body
    assert (body["phone"], body["status"]) == (ADA, "opted_out")
    assert [(h["status"], h["source"], h["actor"]) for h in body["history"]] == [
        ("opted_out", "api", "rep-1")
    ]
    lookup = api_event("POST", "/v1/sms/consent/lookup", body={"phone": ADA})
    assert sms.json(lookup, "SmsFunction") == (200, body)
    admin = api_event("POST", "/v1/sms/consent", body={"phone": ADA, "status": "opted_in"}, roles="admin")
    assert sms.json(admin)[1]["status"] == "opted_in"


@pytest.mark.parametrize(
    ("path", "body", "status", "field"),
    [
        ("/v1/sms/consent/lookup", {"phone": "not a number"}, 422, "phone"),
        ("/v1/sms/consent/lookup", {}, 422, "phone"),
        ("/v1/sms/consent/lookup", {"phone": ADA, "status": "opted_out"}, 422, "status"),
        ("/v1/sms/consent", {"phone": "+1555", "status": "opted_out"}, 422, "phone"),
        ("/v1/sms/consent", {"phone": ADA}, 422, "status"),
        ("/v1/sms/consent", {"phone": ADA, "status": "none"}, 422, "status"),
    ],
)
def test_bad_consent_bodies_name_the_field_and_record_nothing(
    sms: Sms, path: str, body: dict[str, Any], status: int, field: str
) -> None:
    answer = sms.json(api_event("POST", path, body=body))
    assert (answer[0], answer[1]["error"]["field"]) == (status, field)
    assert sms.sms_items() == []


def test_a_rep_cannot_record_an_opt_in(sms: Sms) -> None:
    event = api_event("POST", "/v1/sms/consent", body={"phone": ADA, "status": "opted_in"})
    assert sms.json(event)[0] == 403
    assert consent(sms)["history"] == []


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_the_old_path_with_the_number_answers_410_with_the_new_routes(sms: Sms, method: str) -> None:
    body = {"status": "opted_out"} if method == "POST" else None
    event = api_event(method, f"/v1/sms/consent/{quote(ADA)}", resource="/v1/sms/consent/{e164}", body=body)
    status, answer = sms.json(event, "SmsFunction")
    assert (status, answer["error"]["code"]) == (410, "gone")
    assert "POST /v1/sms/consent/lookup" in answer["error"]["message"]
    assert 'POST /v1/sms/consent {"phone", "status"}' in answer["error"]["message"]
    assert ADA not in json.dumps(answer)
    assert sms.sms_items() == []


# ------------------------------------------------------------------------------------- pages
def link(sms: Sms, action: str) -> str:
    status, body = sms.json(api_event("POST", "/v1/sms/links", body={"phone": ADA, "action": action}))
    assert status == 200, body
    assert body["url"].startswith(f"{BASE}/sms/{action}?token=")
    return str(body["url"].partition("token=")[2])


def page_post(
    sms: Sms, action: str, params: dict[str, str], cookie: str | None, origin: str | None = None
) -> dict[str, Any]:
    headers = {"Cookie": cookie} if cookie else {}
    if origin:
        headers["Origin"] = origin
    return sms.raw(form_event(f"/sms/{action}", params, headers=headers))


def test_opt_out_link_page_records_a_web_opt_out(sms: Sms) -> None:
    setup_org(sms)
    token = link(sms, "opt-out")
    page = sms.raw(form_event("/sms/opt-out", {}, method="GET", query={"token": token}))
    assert page["statusCode"] == 200
    assert sms.header(page, "Content-Type").startswith("text/html")
    assert sms.header(page, "Referrer-Policy") == "same-origin"
    assert ADA not in page["body"]
    assert "0100" in page["body"]
    cookie = page["multiValueHeaders"]["Set-Cookie"][0].split(";")[0]
    csrf = page["body"].split('name="csrf" value="')[1].split('"')[0]
    assert page_post(sms, "opt-out", {"csrf": csrf, "token": token}, None)["statusCode"] == 403  # no cookie
    assert (
        page_post(sms, "opt-out", {"csrf": csrf, "token": token}, cookie, "https://evil.test")["statusCode"]
        == 403
    )
    assert consent(sms)["status"] == "none"
    done = page_post(sms, "opt-out", {"csrf": csrf, "token": token}, cookie, "https://sms.example.test")
    assert done["statusCode"] == 200
    assert "no more text messages" in done["body"]
    assert [(h["status"], h["source"]) for h in consent(sms)["history"]] == [("opted_out", "web")]


def test_opt_in_link_cannot_be_used_on_the_opt_out_page_and_expired_links_fail(sms: Sms) -> None:
    setup_org(sms)
    token = link(sms, "opt-in")
    assert sms.raw(form_event("/sms/opt-out", {}, method="GET", query={"token": token}))["statusCode"] == 400
    assert (
        sms.raw(form_event("/sms/opt-in", {}, method="GET", query={"token": token + "x"}))["statusCode"]
        == 400
    )
    assert sms.raw(form_event("/sms/opt-in", {}, method="GET", query={"token": token}))["statusCode"] == 200


# ---------------------------------------------------------------------- typed-number opt-out
CSRF_FIELD = re.compile(r'name="csrf" value="([^"]*)"')
CLIENT = "203.0.113.50"


class Visitor:
    """A browser on the opt-out page: keeps the CSRF cookie and field of the last page it got, and
    comes from one client address (``sourceIp``, which the per-client code limit counts)."""

    def __init__(self, sms: Sms, client: str = CLIENT) -> None:
        self.sms = sms
        self.client = client
        self.cookie: str | None = None
        self.csrf: str | None = None

    def _send(self, event: dict[str, Any]) -> dict[str, Any]:
        event["requestContext"]["identity"]["sourceIp"] = self.client
        response = self.sms.raw(event)
        cookies = (response.get("multiValueHeaders") or {}).get("Set-Cookie") or []
        self.cookie = cookies[0].split(";")[0] if cookies else self.cookie
        found = CSRF_FIELD.search(response.get("body") or "")
        self.csrf = found.group(1) if found else self.csrf
        return response

    def open(self, **query: str) -> dict[str, Any]:
        return self._send(form_event("/sms/opt-out", {}, method="GET", query=query))

    def post(self, **fields: str) -> dict[str, Any]:
        headers = {"Cookie": self.cookie} if self.cookie else {}
        return self._send(form_event("/sms/opt-out", {"csrf": self.csrf or "", **fields}, headers=headers))

    def ask_code(self, org: str, phone: str) -> dict[str, Any]:
        self.open(org=org)
        return self.post(org=org, phone=phone)


def texted_code(sms: Sms, to: str = ADA) -> str:
    (text,) = [m for m in sms.double.sent if m["to"] == to]
    assert text["from"] == TWILIO_NUMBER
    found = re.search(r"\b(\d{6})\b", str(text["body"]))
    assert found is not None, text["body"]
    return found.group(1)


def not_this(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def not_near_the_hour(margin: float = 10.0) -> None:
    """The limits count per clock hour: start a new hour rather than run across its end."""
    left = 3600 - time.time() % 3600
    if left < margin:
        time.sleep(left + 1)


def test_typed_number_opt_out_takes_a_texted_code(sms: Sms) -> None:
    setup_org(sms)
    visitor = Visitor(sms)
    form = visitor.open(org="org-a")
    assert form["statusCode"] == 200
    assert 'name="phone"' in form["body"]
    assert "Text me a code" in form["body"]

    step = visitor.post(org="org-a", phone="(415) 555-0100")
    assert step["statusCode"] == 200, step["body"]
    assert "Code from the text message" in step["body"]
    assert f'name="phone" value="{ADA}"' in step["body"]
    assert consent(sms)["history"] == []
    assert "5550100" not in json.dumps(sms.sms_items())  # the code item and counters hold hashes only
    code = texted_code(sms)

    wrong = visitor.post(org="org-a", phone=ADA, code=not_this(code))
    assert wrong["statusCode"] == 422
    assert "4 tries left" in wrong["body"]
    assert "Code from the text message" in wrong["body"]  # the same step again
    assert consent(sms)["history"] == []

    done = visitor.post(org="org-a", phone=ADA, code=code)
    assert done["statusCode"] == 200, done["body"]
    assert "no more text messages" in done["body"]
    assert [(h["status"], h["source"]) for h in consent(sms)["history"]] == [("opted_out", "web")]

    visitor.open(org="org-a")
    replayed = visitor.post(org="org-a", phone=ADA, code=code)
    assert replayed["statusCode"] == 410
    assert len(consent(sms)["history"]) == 1
    assert len(sms.double.sent) == 1


def test_five_wrong_codes_lock_the_code(sms: Sms) -> None:
    setup_org(sms)
    visitor = Visitor(sms)
    assert visitor.ask_code("org-a", ADA)["statusCode"] == 200
    code = texted_code(sms)
    answers = [visitor.post(org="org-a", phone=ADA, code=not_this(code))["statusCode"] for _ in range(5)]
    assert answers == [422, 422, 422, 422, 429]
    locked = visitor.post(org="org-a", phone=ADA, code=code)
    assert locked["statusCode"] == 429
    assert "ask for a new code" in locked["body"]
    assert consent(sms)["status"] == "none"


def test_a_code_never_issued_is_410_and_a_malformed_number_422(sms: Sms) -> None:
    setup_org(sms)
    visitor = Visitor(sms)
    visitor.open(org="org-a")
    never = visitor.post(org="org-a", phone=ADA, code="123456")
    assert never["statusCode"] == 410
    bad = visitor.post(org="org-a", phone="12")
    assert bad["statusCode"] == 422
    assert "valid mobile number" in bad["body"]
    assert sms.double.sent == []
    assert consent(sms)["status"] == "none"


def test_a_stale_form_records_nothing_even_with_the_right_code(sms: Sms) -> None:
    setup_org(sms)
    visitor = Visitor(sms)
    visitor.ask_code("org-a", ADA)
    code = texted_code(sms)
    visitor.cookie = None
    refused = visitor.post(org="org-a", phone=ADA, code=code)
    assert refused["statusCode"] == 403
    assert "reload the page" in refused["body"]
    assert consent(sms)["status"] == "none"


def _masked(response: dict[str, Any], org: str) -> tuple[int, str, list[str]]:
    body = CSRF_FIELD.sub('name="csrf" value="CSRF"', response["body"]).replace(org, "ORG")
    cookies = [
        re.sub(r"^sms_csrf=[^;]*", "sms_csrf=NONCE", cookie)
        for cookie in (response.get("multiValueHeaders") or {}).get("Set-Cookie") or []
    ]
    return response["statusCode"], body, cookies


@pytest.mark.parametrize("case", ["unknown org", "org without a sender", "opted-out number"])
def test_no_code_is_texted_but_the_pages_look_the_same(sms: Sms, case: str) -> None:
    setup_org(sms)
    setup_org(sms, "org-c", "+15005550008")  # texts its code: the page to compare with
    org = {"unknown org": "org-z", "org without a sender": "org-b", "opted-out number": "org-a"}[case]
    if case == "org without a sender":
        event = api_event("PUT", "/v1/org/sms/settings", body={"brand": "B"}, org="org-b", roles="admin")
        assert sms.json(event)[0] == 200
    if case == "opted-out number":
        sms.inbound(message("STOP"))
    visitor, reference = Visitor(sms, "198.51.100.1"), Visitor(sms, "198.51.100.2")
    assert _masked(visitor.open(org=org), org) == _masked(reference.open(org="org-c"), "org-c")
    answer = visitor.post(org=org, phone=ADA)
    assert sms.double.sent == []
    expected = reference.post(org="org-c", phone=ADA)
    assert [(m["to"], m["from"]) for m in sms.double.sent] == [(ADA, "+15005550008")]
    assert expected["statusCode"] == 200
    assert _masked(answer, org) == _masked(expected, "org-c")


def test_codes_are_limited_per_client_and_per_number_across_orgs(sms: Sms) -> None:
    setup_org(sms)
    setup_org(sms, "org-b", "+15005550007")
    not_near_the_hour()
    visitor = Visitor(sms)
    numbers = [f"+1415555{n:04d}" for n in range(200, 206)]
    for index, number in enumerate(numbers[:5]):
        assert visitor.ask_code(("org-a", "org-b", "org-z")[index % 3], number)["statusCode"] == 200
    refused = visitor.ask_code("org-b", numbers[5])
    assert refused["statusCode"] == 429
    assert sms.header(refused, "Content-Type").startswith("text/html")
    assert "try again in an hour" in refused["body"]
    assert [m["to"] for m in sms.double.sent] == [numbers[0], numbers[1], numbers[3], numbers[4]]

    answers = [Visitor(sms, f"198.51.100.{i}").ask_code(org, ADA)["statusCode"] for i, org in
               enumerate(["org-a", "org-b", "org-z", "org-a"])]  # fmt: skip
    assert answers == [200, 200, 200, 429]
    assert [m["from"] for m in sms.double.sent if m["to"] == ADA] == [TWILIO_NUMBER, "+15005550007"]
    assert consent(sms)["status"] == "none"

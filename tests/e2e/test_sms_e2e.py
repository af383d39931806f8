"""SMS over HTTP on the local stack: real signatures from the development auth token, the Twilio double."""

from __future__ import annotations

import json
import re
import secrets
import time
import uuid
from typing import Any

import phonenumbers
import pytest
import requests

from callproof.integrations.twilio_webhook import sign
from callproof_local.twilio_double import DEV_AUTH_TOKEN
from tests.fixtures.local_stack.process import RunningStack, new_client

pytestmark = pytest.mark.e2e
ADMIN_ROLES = ("admin", "rep")
_USED_NUMBERS: set[str] = set()


def fresh_number() -> str:
    """A valid US number that no other test of this module uses: the per-number limit
    (3 codes an hour, across orgs) is shared by every test on the stack."""
    while True:
        candidate = f"+1415{secrets.randbelow(8) + 2}{secrets.randbelow(10**6):06d}"
        if candidate not in _USED_NUMBERS and phonenumbers.is_valid_number(phonenumbers.parse(candidate)):
            _USED_NUMBERS.add(candidate)
            return candidate


class Client:
    def __init__(self, stack: RunningStack, org: str) -> None:
        self.url = stack.url
        self.org = org
        self.headers = {"Authorization": f"Bearer {stack.token(org, 'e2e-admin', ADMIN_ROLES)}"}
        state = json.loads((stack.home / "local-stack.json").read_text())
        self.double = str(state["twilio_double_url"])
        self.number = fresh_number()  # this org's Twilio number

    def api(self, method: str, path: str, body: Any = None) -> requests.Response:
        return requests.request(method, self.url + path, json=body, headers=self.headers, timeout=30)

    def twilio(self, params: dict[str, str], signature: str | None = None) -> requests.Response:
        url = f"{self.url}/webhooks/twilio/sms"
        signature = sign(DEV_AUTH_TOKEN, url, params) if signature is None else signature
        return requests.post(url, data=params, headers={"X-Twilio-Signature": signature}, timeout=30)

    def sent_to(self, number: str) -> list[dict[str, Any]]:
        messages = requests.get(f"{self.double}/_double/messages", timeout=10).json()["messages"]
        return [m for m in messages if m["to"] == number]


@pytest.fixture
def client(local_stack: RunningStack) -> Client:
    return new_org(local_stack)


def customer(client: Client, phone: str) -> str:
    response = client.api("POST", "/v1/contacts", {"name": "Grace", "type": "customer", "phones": [phone]})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def inbound(client: Client, sender: str, body: str) -> dict[str, str]:
    return {"MessageSid": "SM" + uuid.uuid4().hex, "From": sender, "To": client.number, "Body": body}


def test_stop_by_sms_then_send_is_refused(client: Client) -> None:
    phone = "+1415555" + str(uuid.uuid4().int)[:4]
    contact_id = customer(client, phone)
    assert client.api("POST", "/v1/sms/messages", {"contact_id": contact_id, "body": "Hi"}).status_code == 201
    assert len(client.sent_to(phone)) == 1

    stop = inbound(client, phone, "STOP")
    for _ in range(3):  # Twilio retrying
        response = client.twilio(stop)
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "text/xml"
    history = client.api("POST", "/v1/sms/consent/lookup", {"phone": phone}).json()["history"]
    assert [(h["status"], h["source"]) for h in history] == [("opted_out", "keyword")]

    refused = client.api("POST", "/v1/sms/messages", {"contact_id": contact_id, "body": "Hi again"})
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "opted_out")
    assert len(client.sent_to(phone)) == 1


def test_wrong_signature_is_403(client: Client) -> None:
    phone = "+1415555" + str(uuid.uuid4().int)[:4]
    response = client.twilio(inbound(client, phone, "STOP"), signature="bm90IGEgc2lnbmF0dXJl")
    assert response.status_code == 403
    assert client.api("POST", "/v1/sms/consent/lookup", {"phone": phone}).json()["status"] == "none"


def test_replies_land_on_the_thread_and_delivery_callbacks_arrive(client: Client) -> None:
    phone = "+1415555" + str(uuid.uuid4().int)[:4]
    contact_id = customer(client, phone)
    sent = client.api("POST", "/v1/sms/messages", {"contact_id": contact_id, "body": "Your quote is ready"})
    assert sent.status_code == 201
    assert client.twilio(inbound(client, phone, "Thanks, looks good")).status_code == 200
    deadline = time.monotonic() + 20
    while True:  # the double posts signed "sent" then "delivered" callbacks, as Twilio does
        items = client.api("GET", f"/v1/contacts/{contact_id}/sms").json()["items"]
        outbound = next(m for m in items if m["direction"] == "outbound")
        if outbound["status"] == "delivered" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert outbound["status"] == "delivered"
    assert [m["body"] for m in items if m["direction"] == "inbound"] == ["Thanks, looks good"]


def test_carrier_opt_out_from_twilio_is_recorded(client: Client) -> None:
    phone = "+1415555" + str(uuid.uuid4().int)[:4]
    contact_id = customer(client, phone)
    requests.post(f"{client.double}/_double/opt-outs", data={"Number": phone}, timeout=10)
    refused = client.api("POST", "/v1/sms/messages", {"contact_id": contact_id, "body": "Hi"})
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "opted_out")
    history = client.api("POST", "/v1/sms/consent/lookup", {"phone": phone}).json()["history"]
    assert [(h["source"], h["keyword"]) for h in history] == [("carrier", "21610")]


def test_cli_twilio_sign_matches_what_the_stack_accepts(client: Client) -> None:
    from callproof_local.cli import main

    phone = "+1415555" + str(uuid.uuid4().int)[:4]
    params = inbound(client, phone, "HELP")
    url = f"{client.url}/webhooks/twilio/sms"
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["twilio-sign", "--url", url, *[f"{k}={v}" for k, v in params.items()]]) == 0
    response = client.twilio(params, signature=out.getvalue().strip())
    assert response.status_code == 200
    assert "Msg &amp; data rates may apply" in response.text


def test_the_signature_covers_the_query_string_twilio_called(client: Client) -> None:
    """Issue 13, point 5, over HTTP: `callproof twilio-sign` signs the URL it is given, query included,
    and the stack checks the query it was called with."""
    from callproof_local.cli import main

    params = inbound(client, "+1415555" + str(uuid.uuid4().int)[:4], "HELP")
    url = f"{client.url}/webhooks/twilio/sms?source=e2e&note=a+b"
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["twilio-sign", "--url", url, *[f"{k}={v}" for k, v in params.items()]]) == 0
    signed = requests.post(
        url, data=params, headers={"X-Twilio-Signature": out.getvalue().strip()}, timeout=30
    )
    assert signed.status_code == 200, signed.text
    params["MessageSid"] = "SM" + uuid.uuid4().hex
    bare = sign(DEV_AUTH_TOKEN, f"{client.url}/webhooks/twilio/sms", params)
    refused = requests.post(url, data=params, headers={"X-Twilio-Signature": bare}, timeout=30)
    assert refused.status_code == 403


def test_consent_by_number_keeps_numbers_out_of_urls_and_access_lines(
    local_stack: RunningStack, client: Client
) -> None:
    """Issue 13, point 6: the number goes in the body; the old path answers 410; the gateway's access
    lines name route templates, as API Gateway's access log does."""
    phone = fresh_number()
    recorded = client.api("POST", "/v1/sms/consent", {"phone": phone, "status": "opted_out"})
    assert recorded.status_code == 200, recorded.text
    assert (recorded.json()["phone"], recorded.json()["status"]) == (phone, "opted_out")
    assert history(client, phone) == [("opted_out", "api")]
    for method in ("GET", "POST"):
        old = client.api(
            method, f"/v1/sms/consent/{phone}", {"status": "opted_in"} if method == "POST" else None
        )
        assert (old.status_code, old.json()["error"]["code"]) == (410, "gone")
        assert "POST /v1/sms/consent/lookup" in old.json()["error"]["message"]
    assert history(client, phone) == [("opted_out", "api")]
    access = local_stack.stderr.read_text()
    assert "POST /v1/sms/consent -> 200" in access
    assert "POST /v1/sms/consent/lookup -> 200" in access
    assert "GET /v1/sms/consent/{e164} -> 410" in access
    assert phone.removeprefix("+") not in access


# ------------------------------------------------------------------ the typed-number opt-out form
CSRF_FIELD = re.compile(r'name="csrf" value="([^"]*)"')
CODE_IN_TEXT = re.compile(r"\b(\d{6})\b")


class Visitor:
    """A person on the public opt-out page: a session from a client address of its own (the stack
    counts the per-client limit by it) with its own cookie jar; each page's CSRF field is kept."""

    def __init__(self, stack: RunningStack) -> None:
        self.url = stack.url
        self.session = new_client()
        self.csrf: str | None = None

    def _keep(self, response: requests.Response) -> requests.Response:
        found = CSRF_FIELD.search(response.text)
        self.csrf = found.group(1) if found else self.csrf
        return response

    def open(self, **query: str) -> requests.Response:
        return self._keep(self.session.get(f"{self.url}/sms/opt-out", params=query, timeout=30))

    def post(self, **fields: str) -> requests.Response:
        assert self.csrf is not None, "open the page first"
        response = self.session.post(
            f"{self.url}/sms/opt-out", data={"csrf": self.csrf, **fields}, timeout=30
        )
        return self._keep(response)

    def ask_code(self, org: str, phone: str) -> requests.Response:
        self.open(org=org)
        return self.post(org=org, phone=phone)


def only_code(client: Client, phone: str) -> str:
    (text,) = client.sent_to(phone)
    assert text["from"] == client.number  # texted from the org's own registered number
    found = CODE_IN_TEXT.search(str(text["body"]))
    assert found is not None, text["body"]
    return found.group(1)


def another_code(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def history(client: Client, phone: str) -> list[tuple[str, str]]:
    response = client.api("POST", "/v1/sms/consent/lookup", {"phone": phone})
    assert response.status_code == 200, response.text
    return [(h["status"], h["source"]) for h in response.json()["history"]]


def new_org(stack: RunningStack) -> Client:
    """An org with its own registered Twilio number."""
    org = Client(stack, f"e2e-sms-{uuid.uuid4().hex[:8]}")
    assert org.api("PUT", "/v1/org/sms/senders", {"phone_numbers": [org.number]}).status_code == 200
    return org


def not_near_the_hour(margin: float = 20.0) -> None:
    """The limits count per clock hour: a test that must stay in one window starts a new hour rather
    than run across the boundary (it waits at most ``margin`` seconds)."""
    left = 3600 - time.time() % 3600
    if left < margin:
        time.sleep(left + 1)


def test_typed_number_opt_out_needs_the_texted_code(local_stack: RunningStack, client: Client) -> None:
    phone = fresh_number()
    visitor = Visitor(local_stack)
    form = visitor.open(org=client.org)
    assert form.status_code == 200
    assert "Mobile number" in form.text
    assert "Text me a code" in form.text

    step1 = visitor.post(org=client.org, phone=phone)
    assert step1.status_code == 200, step1.text
    assert "Code from the text message" in step1.text
    assert f'name="phone" value="{phone}"' in step1.text
    assert history(client, phone) == []  # a typed number alone opts nothing out
    code = only_code(client, phone)

    wrong = visitor.post(org=client.org, phone=phone, code=another_code(code))
    assert wrong.status_code == 422
    assert "4 tries left" in wrong.text
    assert history(client, phone) == []

    done = visitor.post(org=client.org, phone=phone, code=code)
    assert done.status_code == 200, done.text
    assert "will get no more text messages" in done.text
    assert phone[-4:] in done.text
    assert phone not in done.text  # masked
    assert history(client, phone) == [("opted_out", "web")]
    consent = client.api("POST", "/v1/sms/consent/lookup", {"phone": phone}).json()
    assert consent["status"] == "opted_out"

    visitor.open(org=client.org)
    replayed = visitor.post(org=client.org, phone=phone, code=code)
    assert replayed.status_code == 410
    assert history(client, phone) == [("opted_out", "web")]
    assert len(client.sent_to(phone)) == 1


def test_a_code_is_refused_at_another_org_and_after_five_wrong_tries(
    local_stack: RunningStack, client: Client
) -> None:
    phone = fresh_number()
    visitor = Visitor(local_stack)
    assert visitor.ask_code(client.org, phone).status_code == 200
    code = only_code(client, phone)
    other = new_org(local_stack)
    elsewhere = visitor.post(org=other.org, phone=phone, code=code)
    assert elsewhere.status_code == 410  # the code proves the number to the org that texted it only
    assert history(other, phone) == []

    answers = [
        visitor.post(org=client.org, phone=phone, code=another_code(code)).status_code for _ in range(5)
    ]
    assert answers == [422, 422, 422, 422, 429]
    locked = visitor.post(org=client.org, phone=phone, code=code)
    assert locked.status_code == 429
    assert "ask for a new code" in locked.text
    assert history(client, phone) == []


def _masked(response: requests.Response, org: str) -> tuple[int, str, list[str]]:
    html = CSRF_FIELD.sub('name="csrf" value="CSRF"', response.text).replace(org, "ORG")
    cookies = [
        re.sub(r"^sms_csrf=[^;]*", "sms_csrf=NONCE", c) for c in response.raw.headers.getlist("Set-Cookie")
    ]
    return response.status_code, html, cookies


def test_an_unknown_org_gets_the_same_pages_as_a_known_one(local_stack: RunningStack, client: Client) -> None:
    unknown = f"e2e-sms-{uuid.uuid4().hex[:8]}"  # well-formed, same length, never configured
    assert len(unknown) == len(client.org)
    phone = fresh_number()
    known_visitor, unknown_visitor = Visitor(local_stack), Visitor(local_stack)

    known_form, unknown_form = known_visitor.open(org=client.org), unknown_visitor.open(org=unknown)
    assert known_form.status_code == 200
    assert _masked(unknown_form, unknown) == _masked(known_form, client.org)
    assert known_form.headers["Content-Type"] == unknown_form.headers["Content-Type"]

    known_step, unknown_step = (
        known_visitor.post(org=client.org, phone=phone),
        unknown_visitor.post(org=unknown, phone=phone),
    )
    assert known_step.status_code == 200
    assert "Code from the text message" in known_step.text
    assert _masked(unknown_step, unknown) == _masked(known_step, client.org)
    assert len(client.sent_to(phone)) == 1  # the known org texted its code; the unknown one sent nothing


def test_one_client_gets_five_codes_an_hour_across_orgs(local_stack: RunningStack) -> None:
    orgs = [new_org(local_stack) for _ in range(2)]
    unknown = f"e2e-sms-{uuid.uuid4().hex[:8]}"  # asking at an unknown org counts as well
    at = [orgs[0].org, orgs[1].org, unknown, orgs[0].org, orgs[1].org]
    phones = [fresh_number() for _ in range(6)]
    not_near_the_hour()
    visitor = Visitor(local_stack)
    for org, phone in zip(at, phones[:5], strict=True):
        assert visitor.ask_code(org, phone).status_code == 200
    refused = visitor.ask_code(orgs[1].org, phones[5])
    assert refused.status_code == 429
    assert refused.headers["Content-Type"].startswith("text/html")
    assert 'role="alert"' in refused.text
    assert "try again in an hour" in refused.text
    assert orgs[1].sent_to(phones[5]) == []
    senders = [[m["from"] for m in orgs[0].sent_to(phone)] for phone in phones[:5]]
    assert senders == [[orgs[0].number], [orgs[1].number], [], [orgs[0].number], [orgs[1].number]]

    other_visitor = Visitor(local_stack)  # the limit is the client's, not everyone's
    assert other_visitor.ask_code(orgs[1].org, phones[5]).status_code == 200
    assert len(orgs[1].sent_to(phones[5])) == 1


def test_one_number_gets_three_codes_an_hour_across_orgs_and_clients(local_stack: RunningStack) -> None:
    orgs = [new_org(local_stack) for _ in range(4)]
    phone = fresh_number()
    not_near_the_hour()
    answers = [Visitor(local_stack).ask_code(org.org, phone) for org in orgs]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert "try again in an hour" in answers[3].text
    assert [m["from"] for m in orgs[0].sent_to(phone)] == [org.number for org in orgs[:3]]
    assert all(history(org, phone) == [] for org in orgs)


def test_signed_link_opts_out_in_one_step(local_stack: RunningStack, client: Client) -> None:
    phone = fresh_number()
    link = client.api("POST", "/v1/sms/links", {"phone": phone, "action": "opt-out"})
    assert link.status_code == 200, link.text
    token = link.json()["url"].partition("token=")[2]
    visitor = Visitor(local_stack)
    page = visitor.open(token=token)
    assert page.status_code == 200
    assert "Stop texts" in page.text
    done = visitor.post(token=token)
    assert done.status_code == 200, done.text
    assert "will get no more text messages" in done.text
    assert history(client, phone) == [("opted_out", "web")]
    assert client.sent_to(phone) == []  # no code: the signed link already names the number

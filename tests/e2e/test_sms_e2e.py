"""SMS over HTTP on the local stack: real signatures from the development auth token, the Twilio double."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any
from urllib.parse import quote

import pytest
import requests

from callproof.integrations.twilio_webhook import sign
from callproof.local.twilio_double import DEV_AUTH_TOKEN
from tests.fixtures.local_stack.process import RunningStack

pytestmark = pytest.mark.e2e
ADMIN_ROLES = ("admin", "rep")


class Client:
    def __init__(self, stack: RunningStack, org: str) -> None:
        self.url = stack.url
        self.org = org
        self.headers = {"Authorization": f"Bearer {stack.token(org, 'e2e-admin', ADMIN_ROLES)}"}
        state = json.loads((stack.home / "local-stack.json").read_text())
        self.double = str(state["twilio_double_url"])
        self.number = "+1500555" + str(uuid.uuid4().int)[:4]  # this org's Twilio number

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
    client = Client(local_stack, f"e2e-sms-{uuid.uuid4().hex[:8]}")
    assert client.api("PUT", "/v1/org/sms/senders", {"phone_numbers": [client.number]}).status_code == 200
    return client


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
    history = client.api("GET", f"/v1/sms/consent/{quote(phone)}").json()["history"]
    assert [(h["status"], h["source"]) for h in history] == [("opted_out", "keyword")]

    refused = client.api("POST", "/v1/sms/messages", {"contact_id": contact_id, "body": "Hi again"})
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "opted_out")
    assert len(client.sent_to(phone)) == 1


def test_wrong_signature_is_403(client: Client) -> None:
    phone = "+1415555" + str(uuid.uuid4().int)[:4]
    response = client.twilio(inbound(client, phone, "STOP"), signature="bm90IGEgc2lnbmF0dXJl")
    assert response.status_code == 403
    assert client.api("GET", f"/v1/sms/consent/{quote(phone)}").json()["status"] == "none"


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
    history = client.api("GET", f"/v1/sms/consent/{quote(phone)}").json()["history"]
    assert [(h["source"], h["keyword"]) for h in history] == [("carrier", "21610")]


def test_cli_twilio_sign_matches_what_the_stack_accepts(client: Client) -> None:
    from callproof.local.cli import main

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

"""Data-subject requests over HTTP on the local stack: the state machines really execute (moto's
interpreter, task Lambdas bridged in-process), mail is read back from the local SES outbox."""

from __future__ import annotations

import io
import json
import re
import time
import uuid
import zipfile
from typing import Any

import pytest
import requests

from callproof.integrations.twilio_webhook import sign
from callproof_local.provision import aws_session, local_name
from callproof_local.stack import STATE_FILE
from callproof_local.twilio_double import DEV_AUTH_TOKEN
from tests.fixtures.local_stack.process import RunningStack, new_client

pytestmark = pytest.mark.e2e
ROLES = ("admin", "rep", "compliance")


class Org:
    def __init__(self, stack: RunningStack) -> None:
        self.url = stack.url
        self.home = stack.home
        self.id = f"dsar-{uuid.uuid4().hex[:8]}"
        self.headers = {"Authorization": f"Bearer {stack.token(self.id, 'staff-1', ROLES)}"}
        self.rep = {"Authorization": f"Bearer {stack.token(self.id, 'rep-1', ['rep'])}"}
        self.number = f"+1500555{uuid.uuid4().int % 10_000:04d}"

    def api(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> requests.Response:
        return requests.request(
            method, self.url + path, json=body, headers=headers or self.headers, timeout=60
        )

    def contact(self, name: str, email: str, phone: str) -> str:
        response = self.api(
            "POST", "/v1/contacts", {"name": name, "type": "customer", "emails": [email], "phones": [phone]}
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def call(self, phone: str) -> None:
        device = {
            "device_type": "phone",
            "os_name": "iOS",
            "os_version": "18.1",
            "app_version": "4.2.0",
            "country": "US",
        }
        assert self.api("PUT", "/v1/devices/phone-1", device, headers=self.rep).status_code == 200
        entry = {
            "client_id": str(uuid.uuid4()),
            "phone_number": phone,
            "direction": "outbound",
            "started_at": "2026-11-27T10:00:00+00:00",
            "duration_seconds": 60,
            "device_id": "phone-1",
        }
        response = self.api("POST", "/v1/call-logs", {"entries": [entry]}, headers=self.rep)
        assert response.status_code == 200, response.text
        assert response.json()["results"][0]["status"] == "stored", response.text

    def sms_stop(self, phone: str) -> None:
        assert self.api("PUT", "/v1/org/sms/senders", {"phone_numbers": [self.number]}).status_code == 200
        url = f"{self.url}/webhooks/twilio/sms"
        params = {"MessageSid": "SM" + uuid.uuid4().hex, "From": phone, "To": self.number, "Body": "STOP"}
        response = requests.post(
            url, data=params, headers={"X-Twilio-Signature": sign(DEV_AUTH_TOKEN, url, params)}, timeout=30
        )
        assert response.status_code == 200, response.text

    def wait(self, request_id: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            request = self.api("GET", f"/v1/dsar/requests/{request_id}").json()
            if request["status"] not in ("in_progress", "verified"):
                return dict(request)
            time.sleep(0.2)
        raise AssertionError(f"request {request_id} still running")

    def stored(self, request_id: str) -> str:
        """The request's DsarTable item on the stack's moto, as JSON text."""
        moto_url = json.loads((self.home / STATE_FILE).read_text())["moto_url"]
        item = (
            aws_session()
            .client("dynamodb", endpoint_url=moto_url)
            .get_item(
                TableName=local_name("DsarTable"),
                Key={"pk": {"S": f"ORG#{self.id}"}, "sk": {"S": f"REQ#{request_id}"}},
            )["Item"]
        )
        assert item["status"] == {"S": "completed"}
        return json.dumps(item)

    def mail_to(self, address: str) -> list[dict[str, Any]]:
        messages = requests.get(f"{self.url}/_local/outbox", timeout=10).json()["messages"]
        return [m for m in messages if address in m["to"]]


def phone_number() -> str:
    """A valid fictional US number (555-0100 to 555-0199); each test has its own org."""
    return f"+1415555{uuid.uuid4().int % 100 + 100:04d}"


@pytest.fixture
def org(local_stack: RunningStack) -> Org:
    return Org(local_stack)


def test_access_request_exports_a_zip_and_emails_the_link(org: Org) -> None:
    email = f"ada-{uuid.uuid4().hex[:6]}@example.com"
    phone = phone_number()
    org.contact("Ada", email, phone)
    org.call(phone)
    org.contact("Bob", "bob@example.com", "+14155550199")
    created = org.api(
        "POST",
        "/v1/dsar/requests",
        {
            "type": "access",
            "subject": {"email": email},
            "jurisdiction": "gdpr",
            "received": "2026-11-20",
            "verification": "ID checked by video call",
        },
    )
    assert created.status_code == 201, created.text
    done = org.wait(created.json()["id"])
    assert done["status"] == "completed", done
    assert done["stores"]["contacts"]["rows"] == 1
    assert done["stores"]["call_logs"]["rows"] == 1
    assert done["due"] == "2026-12-20"

    [mail] = org.mail_to(email)
    token = re.findall(r"token=(\S+)", mail["body"])[0]
    archive = requests.get(f"{org.url}/privacy/download", params={"token": token}, timeout=30)
    assert archive.status_code == 200
    assert archive.content[:2] == b"PK"
    with zipfile.ZipFile(io.BytesIO(archive.content)) as zipped:
        manifest = json.loads(zipped.read("manifest.json"))
        contacts = zipped.read("contacts.csv").decode()
    assert {store["name"]: store["rows"] for store in manifest["stores"]}["contacts"] == 1
    assert "Ada" in contacts
    assert "Bob" not in contacts
    staff = org.api("GET", f"/v1/dsar/requests/{done['id']}/download")
    assert staff.status_code == 200
    assert requests.get(staff.json()["url"], timeout=30).content[:2] == b"PK"
    # Closed: the record keeps ids and counts, no identifier of the person (ADR 0022); the link
    # emailed before still works from its own token.
    record = org.stored(done["id"])
    for value in (email, phone, phone.lstrip("+"), "ID checked by video call"):
        assert value not in record
    assert done["subject"]["email"] is None
    assert done["subject"]["removed_at"] is not None
    again = requests.get(f"{org.url}/privacy/download", params={"token": token}, timeout=30)
    assert again.status_code == 200


def test_public_erasure_confirmed_by_email_erases_and_keeps_the_opt_out(org: Org) -> None:
    email = f"eve-{uuid.uuid4().hex[:6]}@example.com"
    phone = phone_number()
    org.contact("Eve", email, phone)
    org.call(phone)
    org.sms_stop(phone)
    bob = org.contact("Bob", f"bob-{uuid.uuid4().hex[:6]}@example.com", phone_number())

    asked = new_client().post(
        f"{org.url}/privacy/requests",
        json={"org_id": org.id, "type": "erasure", "email": email, "jurisdiction": "gdpr"},
        timeout=30,
    )
    assert asked.status_code == 202, asked.text
    [mail] = org.mail_to(email)
    link = re.findall(r"(http\S+/privacy/confirm\?token=\S+)", mail["body"])[0]
    page = requests.get(link, timeout=30)
    assert page.status_code == 200
    assert "Confirm my request" in page.text
    [listed] = org.api("GET", "/v1/dsar/requests", None).json()["items"]
    assert listed["status"] == "pending_confirmation"  # a GET changes nothing

    confirmed = requests.post(link, timeout=30)
    assert confirmed.status_code == 200, confirmed.text
    assert requests.post(link, timeout=30).status_code == 410  # single use
    done = org.wait(listed["id"])
    assert done["status"] == "completed", done
    assert done["stores"]["contacts"]["deleted"] >= 1
    assert done["stores"]["call_logs"]["deleted"] == 1
    assert all(store["residue"] == 0 for store in done["stores"].values())
    assert done["subject"]["email"] is None  # nothing of the person stays on the request
    assert done["subject"]["removed_at"] is not None
    record = org.stored(done["id"])
    for value in (email, phone, phone.lstrip("+"), "Eve"):
        assert value not in record

    found = org.api("POST", "/v1/contacts/lookup", {"emails": [email], "phones": [phone]}).json()
    assert not found["emails"].get(email)
    assert not found["phones"].get(phone)
    assert org.api("GET", f"/v1/contacts/{bob}").status_code == 200
    again = org.contact("Eve again", f"new-{email}", phone)  # a rep re-creates her by hand
    refused = org.api("POST", "/v1/sms/messages", {"contact_id": again, "body": "Hello"})
    assert refused.status_code == 409, refused.text  # the opt-out survived the erasure
    imported = requests.post(
        f"{org.url}/v1/contacts/imports",
        data=f"name,type,email\nEve,customer,{email}\n",
        headers={**org.headers, "Content-Type": "text/csv"},
        timeout=30,
    )
    assert imported.status_code == 200, imported.text
    assert imported.json()["rows"][0]["status"] == "suppressed"


def test_staff_rules_and_bad_input(org: Org, local_stack: RunningStack) -> None:
    body = {
        "type": "access",
        "subject": {"email": "x@example.com"},
        "jurisdiction": "gdpr",
        "received": "2026-11-20",
        "verification": "checked",
    }
    assert org.api("POST", "/v1/dsar/requests", body, headers=org.rep).status_code == 403
    assert org.api("POST", "/v1/dsar/requests", {**body, "type": "forget-me"}).status_code == 422
    assert org.api("POST", "/v1/dsar/requests", {**body, "jurisdiction": "lgpd"}).status_code == 422
    created = org.api("POST", "/v1/dsar/requests", {**body, "type": "correction"}).json()
    other = {"Authorization": f"Bearer {local_stack.token(org.id + 'x', 'staff-1', ROLES)}"}
    assert org.api("GET", f"/v1/dsar/requests/{created['id']}", headers=other).status_code == 404
    late = org.api(
        "POST", "/v1/dsar/requests", {**body, "type": "correction", "received": "2026-09-01"}
    ).json()
    refused = org.api("POST", f"/v1/dsar/requests/{late['id']}/extend", {"reason": "too late now"})
    assert refused.status_code == 409, refused.text
    assert (
        requests.get(f"{org.url}/privacy/confirm", params={"token": "forged.token"}, timeout=30).status_code
        == 422
    )
    nothing = org.api(
        "POST", "/v1/dsar/requests", {**body, "subject": {"email": "nobody@example.com"}}
    ).json()
    done = org.wait(nothing["id"])
    assert done["status"] == "completed"
    assert all(s["rows"] == 0 for s in done["stores"].values())

"""The request hole, tried as an attacker would on the local stack: a stranger with someone else's
phone number and their own email; a switchboard number shared by three contacts; a phone proven by
the code texted to it (through the Twilio double)."""

from __future__ import annotations

import io
import json
import re
import uuid
import zipfile
from typing import Any

import pytest
import requests

from callproof.integrations.twilio_webhook import sign
from callproof_local.twilio_double import DEV_AUTH_TOKEN
from tests.e2e.test_dsar_e2e import Org, phone_number
from tests.fixtures.local_stack.process import RunningStack, new_client

pytestmark = pytest.mark.e2e


class Privacy(Org):
    """An org with a Twilio sender, its public pages reached from a client address of their own."""

    def __init__(self, stack: RunningStack) -> None:
        super().__init__(stack)
        state = json.loads((stack.home / "local-stack.json").read_text())
        self.double = str(state["twilio_double_url"])
        self.public = new_client()
        response = self.api("PUT", "/v1/org/sms/senders", {"phone_numbers": [self.number]})
        assert response.status_code == 200, response.text

    def person(self, name: str, phone: str, *more_phones: str) -> tuple[str, str]:
        email = f"{name.lower()}-{uuid.uuid4().hex[:6]}@example.com"
        response = self.api(
            "POST",
            "/v1/contacts",
            {"name": name, "type": "customer", "emails": [email], "phones": [phone, *more_phones]},
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"]), email

    def ask(self, kind: str, email: str, phone: str, **more: str) -> None:
        body = {
            "org_id": self.id,
            "type": kind,
            "email": email,
            "phone": phone,
            "jurisdiction": "gdpr",
            **more,
        }
        response = self.public.post(f"{self.url}/privacy/requests", json=body, timeout=30)
        assert response.status_code == 202, response.text

    def text_in(self, phone: str, body: str) -> None:
        """An inbound text from ``phone`` (a signed Twilio webhook): the contact's thread gets it."""
        url = f"{self.url}/webhooks/twilio/sms"
        params = {"MessageSid": "SM" + uuid.uuid4().hex, "From": phone, "To": self.number, "Body": body}
        signature = sign(DEV_AUTH_TOKEN, url, params)
        response = requests.post(url, data=params, headers={"X-Twilio-Signature": signature}, timeout=30)
        assert response.status_code == 200, response.text

    def confirmation_link(self, email: str) -> str:
        [mail] = self.mail_to(email)
        return str(re.findall(r"(http\S+/privacy/confirm\?token=\S+)", mail["body"])[0])

    def confirm(self, email: str, code: str | None = None) -> requests.Response:
        return self.public.post(
            self.confirmation_link(email), data={"code": code} if code else {}, timeout=30
        )

    def codes_to(self, number: str) -> list[str]:
        """The codes this org's sender texted to ``number`` (other tests' orgs share the double)."""
        messages = requests.get(f"{self.double}/_double/messages", timeout=10).json()["messages"]
        mine = [m for m in messages if m["to"] == number and m["from"] == self.number]
        return [re.findall(r"\b(\d{6})\b", m["body"])[0] for m in mine]

    def only_request(self) -> dict[str, Any]:
        [listed] = self.api("GET", "/v1/dsar/requests").json()["items"]
        return dict(self.api("GET", f"/v1/dsar/requests/{listed['id']}").json())

    def calls_of(self, contact_id: str) -> int:
        response = self.api("GET", f"/v1/contacts/{contact_id}/calls")
        assert response.status_code == 200, response.text
        return len(response.json()["items"])

    def archive(self, to: str) -> dict[str, str]:
        mail = next(m for m in reversed(self.mail_to(to)) if "/privacy/download?token=" in m["body"])
        token = re.findall(r"token=(\S+)", mail["body"])[0]
        response = self.public.get(f"{self.url}/privacy/download", params={"token": token}, timeout=30)
        assert response.status_code == 200, response.text
        with zipfile.ZipFile(io.BytesIO(response.content)) as zipped:
            return {name: zipped.read(name).decode(errors="replace") for name in zipped.namelist()}


@pytest.fixture
def org(local_stack: RunningStack) -> Privacy:
    return Privacy(local_stack)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


@pytest.mark.parametrize("kind", ["access", "portability", "erasure"])
def test_a_stranger_with_someone_elses_phone_gets_nothing_of_theirs(org: Privacy, kind: str) -> None:
    victim_phone = phone_number()
    victim, victim_email = org.person("Victoria", victim_phone)
    org.call(victim_phone)
    org.text_in(victim_phone, "Please call me about the quote")
    mallory = f"mallory-{uuid.uuid4().hex[:6]}@evil.example"
    fence = f"fence-{uuid.uuid4().hex[:6]}@evil.example"
    org.ask(kind, mallory, victim_phone, **({"recipient_email": fence} if kind == "portability" else {}))

    [code] = org.codes_to(victim_phone)  # the code went to the victim's phone, not to Mallory
    guessed = org.confirm(mallory, wrong(code))
    assert guessed.status_code == 422, guessed.text
    assert "Confirm my request" in guessed.text
    assert org.confirm(mallory).status_code == 200  # from her own inbox, without the code

    done = org.wait(org.only_request()["id"])
    assert done["status"] == "completed", done
    assert {"event": "subject.unverified", "detail": "left out, not proven: phone"}.items() <= next(
        event for event in done["timeline"] if event["event"] == "subject.unverified"
    ).items()
    assert done["subject"]["contacts_found"] in ([], None)
    assert all(store["rows"] == 0 and store["deleted"] == 0 for store in done["stores"].values()), done
    if kind != "erasure":
        files = org.archive(fence if kind == "portability" else mallory)
        everything = "\n".join(files.values())
        for secret in (victim_email, victim_phone, victim_phone[2:], "Victoria", victim, "the quote"):
            assert secret not in everything
    assert org.api("GET", f"/v1/contacts/{victim}").status_code == 200
    assert org.calls_of(victim) == 1
    found = org.api("POST", "/v1/contacts/lookup", {"phones": [victim_phone]}).json()
    assert [contact["id"] for contact in found["phones"][victim_phone]] == [victim]


def test_a_phone_proven_by_its_code_reaches_that_phones_records(org: Privacy) -> None:
    phone = phone_number()
    ada, _ = org.person("Ada", phone)
    org.call(phone)
    own = f"ada-new-{uuid.uuid4().hex[:6]}@example.com"  # an address the CRM does not know
    org.ask("access", own, phone)
    [code] = org.codes_to(phone)
    confirmed = org.confirm(own, code)
    assert confirmed.status_code == 200, confirmed.text
    done = org.wait(org.only_request()["id"])
    assert done["status"] == "completed", done
    assert done["subject"]["proven"] == ["email", "phone"]
    assert done["subject"]["contacts_found"] == [ada]
    assert done["stores"]["call_logs"]["rows"] == 1
    assert "Ada" in org.archive(own)["contacts.csv"]


def test_a_switchboard_erasure_waits_for_staff_and_erases_only_the_chosen_contact(org: Privacy) -> None:
    switchboard = phone_number()
    people = {name: org.person(name, switchboard, phone_number()) for name in ("Ann", "Ben", "Cat")}
    org.call(switchboard)
    for contact_id, _ in people.values():
        direct = org.api("GET", f"/v1/contacts/{contact_id}").json()["phones"][1]["e164"]
        org.call(direct)
    ann, ann_email = people["Ann"]

    org.ask("erasure", ann_email, switchboard)
    [code] = org.codes_to(switchboard)
    assert org.confirm(ann_email, code).status_code == 200
    review = org.only_request()
    assert review["status"] == "needs_review", review
    assert sorted(c["id"] for c in review["subject"]["candidates"]) == sorted(c for c, _ in people.values())
    assert all(org.api("GET", f"/v1/contacts/{c}").status_code == 200 for c, _ in people.values())

    chosen = org.api(
        "POST",
        f"/v1/dsar/requests/{review['id']}/subject",
        {"contact_ids": [ann], "reason": "caller named herself; desk line is shared"},
    )
    assert chosen.status_code == 202, chosen.text
    done = org.wait(review["id"])
    assert done["status"] == "completed", done
    assert org.api("GET", f"/v1/contacts/{ann}").status_code == 404
    for name in ("Ben", "Cat"):
        contact_id, _ = people[name]
        assert org.api("GET", f"/v1/contacts/{contact_id}").status_code == 200
        assert org.calls_of(contact_id) == 1  # their own direct-line call
    shared = org.api("POST", "/v1/contacts/lookup", {"phones": [switchboard]}).json()["phones"][switchboard]
    assert sorted(c["id"] for c in shared) == sorted(people[name][0] for name in ("Ben", "Cat"))


def test_public_filing_is_limited_per_client_and_per_email_across_orgs(local_stack: RunningStack) -> None:
    client = new_client()

    def ask(org: str, email: str, session: requests.Session = client) -> int:
        body = {"org_id": org, "type": "access", "email": email, "jurisdiction": "ccpa"}
        return session.post(f"{local_stack.url}/privacy/requests", json=body, timeout=30).status_code

    tag = uuid.uuid4().hex[:6]
    statuses = [ask(f"limit-{tag}-{n}", f"p{n}-{tag}@example.com") for n in range(6)]
    assert statuses == [202] * 5 + [429]
    same = f"same-{tag}@example.com"
    statuses = [ask(f"limit-{tag}-x{n}", same, new_client()) for n in range(6)]
    assert statuses == [202] * 5 + [429]

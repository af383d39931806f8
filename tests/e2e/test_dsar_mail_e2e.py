"""Synced mail, integrations and accounts through data-subject requests over HTTP on the local stack:
Gmail connected through the Google double and contact mail synced, exported (mail.csv and a parseable
.eml) and erased with zero residue; an org member erased with her Gmail and calendar grants deleted,
her account gone and her consent record kept."""

from __future__ import annotations

import copy
import io
import json
import re
import time
import uuid
import zipfile
from email import policy
from email.parser import BytesParser
from typing import Any

import pytest
import requests

from tests.e2e.test_dsar_e2e import Org, phone_number
from tests.e2e.test_gmail_e2e import MAIL, deliver
from tests.fixtures.local_stack.process import RunningStack

pytestmark = pytest.mark.e2e
ADA = "ada@customer.example"  # the sender of tests/fixtures/mail/contact.eml


@pytest.fixture
def staff(local_stack: RunningStack) -> Org:
    return Org(local_stack)


def connect_gmail(org: Org, mailbox: str) -> None:
    authorize = org.api("POST", "/v1/integrations/google/authorize", headers=org.rep)
    assert authorize.status_code == 200, authorize.text
    url = authorize.json()["authorization_url"] + f"&login_hint={mailbox}"
    consent = requests.get(url, allow_redirects=False, timeout=10)
    assert consent.status_code == 302
    assert requests.get(consent.headers["Location"], timeout=30).status_code == 200


def synced(org: Org, contact_id: str) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        items = org.api("GET", f"/v1/contacts/{contact_id}/emails", headers=org.rep).json()["items"]
        if items:
            return list(items)
        time.sleep(0.2)
    raise AssertionError("the mail was not synced")


def request(org: Org, kind: str, email: str = ADA) -> dict[str, Any]:
    body = {
        "type": kind,
        "subject": {"email": email},
        "jurisdiction": "gdpr",
        "received": "2026-11-20",
        "verification": "ID checked by video call",
    }
    created = org.api("POST", "/v1/dsar/requests", body)
    assert created.status_code == 201, created.text
    return dict(created.json())


def link(org: Org, pattern: str, to: str = ADA) -> str:
    found = [re.findall(pattern, mail["body"]) for mail in org.mail_to(to)]
    [url] = [urls[0] for urls in found if urls]
    return url


def test_synced_mail_is_exported_as_eml_and_erased_whole(staff: Org, local_stack: RunningStack) -> None:
    org = staff
    mailbox = f"rep-{uuid.uuid4().hex[:6]}@callproof.test"
    ada = org.contact("Ada", ADA, phone_number())
    connect_gmail(org, mailbox)
    delivered = deliver(local_stack, mailbox, MAIL / "contact.eml")
    assert delivered.returncode == 0, delivered.stderr
    [email] = synced(org, ada)

    access = org.wait(request(org, "access")["id"])
    assert access["status"] == "completed", access
    assert access["stores"]["mail"]["rows"] == 1
    token = link(org, r"/privacy/download\?token=(\S+)")
    archive = requests.get(f"{org.url}/privacy/download", params={"token": token}, timeout=30)
    assert archive.status_code == 200, archive.text
    with zipfile.ZipFile(io.BytesIO(archive.content)) as zipped:
        manifest = json.loads(zipped.read("manifest.json"))
        rows = zipped.read("mail.csv").decode()
        eml = zipped.read(f"mail/{email['email_id']}.eml")
    assert {store["name"]: store["rows"] for store in manifest["stores"]}["mail"] == 1
    assert "Quote for 40 seats" in rows
    message = BytesParser(policy=policy.default).parsebytes(eml)
    assert message["Subject"] == "Quote for 40 seats"
    assert message["From"] == "Ada Customer <ada@customer.example>"
    assert message["Message-ID"] == "<quote-1@customer.example>"
    body = message.get_body(("plain",))
    assert body is not None
    assert "40 seats" in body.get_content()

    erasure = request(org, "erasure")
    confirmed = requests.post(link(org, r"(http\S+/privacy/confirm\?token=\S+)"), timeout=30)
    assert confirmed.status_code == 200, confirmed.text
    done = org.wait(erasure["id"])
    assert done["status"] == "completed", done
    # The message item, its link to Ada and the one version of its body in S3; nothing left behind.
    assert done["stores"]["mail"]["deleted"] == 3
    assert done["stores"]["mail"]["residue"] == 0
    assert org.api("GET", f"/v1/emails/{email['email_id']}", headers=org.rep).status_code == 404


def test_a_member_is_erased_with_integrations_revoked_and_the_consent_ledger_kept(
    staff: Org, local_stack: RunningStack
) -> None:
    org = staff
    # The org's admin (staff-1, a member too): an erased member's business records go to an admin.
    assert org.api("PATCH", "/v1/me", {"full_name": "Sam Staff"}).status_code == 200
    email = f"rita-{uuid.uuid4().hex[:6]}@example.com"  # her sign-in and her Gmail mailbox
    added = org.api("POST", "/v1/org/members", {"email": email, "full_name": "Rita Rep", "roles": ["rep"]})
    assert added.status_code == 201, added.text
    user_id = added.json()["user_id"]
    rita = copy.copy(org)  # the same org, signed in as the new member
    rita.rep = {"Authorization": f"Bearer {local_stack.token(org.id, user_id, ['rep'])}"}
    consent = rita.api("POST", "/v1/me/consents", {"purpose": "marketing_email"}, headers=rita.rep)
    assert consent.status_code == 201, consent.text
    upload = rita.api("POST", "/v1/me/photo", {"content_type": "image/png"}, headers=rita.rep).json()
    photo = requests.post(
        upload["url"], data=upload["fields"], files={"file": ("p.png", b"\x89PNG rita")}, timeout=30
    )
    assert photo.status_code in (200, 204), photo.text
    connect_gmail(rita, email)
    authorize = rita.api("POST", "/v1/integrations/google/calendar/authorize", headers=rita.rep)
    assert authorize.status_code == 200, authorize.text
    consent_page = requests.get(
        authorize.json()["authorization_url"] + f"&login_hint={email}", allow_redirects=False, timeout=10
    )
    assert requests.get(consent_page.headers["Location"], timeout=30).status_code == 200

    created = request(org, "erasure", email)
    confirm = link(org, r"(http\S+/privacy/confirm\?token=\S+)", email)
    assert requests.post(confirm, timeout=30).status_code == 200
    review = org.api("GET", f"/v1/dsar/requests/{created['id']}").json()
    assert review["status"] == "needs_review"  # her email is an account: staff decide
    assert [(c["kind"], c["id"]) for c in review["subject"]["candidates"]] == [("user", user_id)]
    chosen = org.api(
        "POST",
        f"/v1/dsar/requests/{created['id']}/subject",
        {"user_ids": [user_id], "reason": "leaving employee; identity checked by HR"},
    )
    assert chosen.status_code == 202, chosen.text
    done = org.wait(created["id"])
    assert done["status"] == "completed", done
    stores = done["stores"]
    assert stores["integrations"]["deleted"] == 3 + 1  # Gmail (item, route, registry), Google calendar
    assert stores["accounts"]["deleted"] == 1 + 1 + 2  # Cognito user, photo version, profile + consents
    assert stores["accounts"]["kept"] == 1  # the consent record, kept as evidence
    assert all(store["residue"] == 0 for store in stores.values())
    assert rita.api("GET", "/v1/integrations/google", headers=rita.rep).status_code == 404
    assert rita.api("GET", "/v1/integrations/calendar", headers=rita.rep).json()["connections"] == []
    members = org.api("GET", "/v1/org/members").json()["items"]
    assert user_id not in {member["user_id"] for member in members}

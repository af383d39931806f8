"""Accounts over HTTP on the running local stack: profile, members in the local Cognito user pool,
org settings the contacts function reads, consent withdrawal. (The 428 after a significant policy
version is tested on moto: publishing one here would gate every other e2e test of the session.)"""

from __future__ import annotations

import re
import uuid

import pytest
import requests

from tests.fixtures.local_stack.process import RunningStack

pytestmark = pytest.mark.e2e


def test_profile_members_settings_and_consent(local_stack: RunningStack) -> None:
    org = f"acct-{uuid.uuid4().hex[:8]}"
    base = local_stack.url
    admin = {"Authorization": f"Bearer {local_stack.token(org, 'admin-1', ['admin'])}"}
    rep = {"Authorization": f"Bearer {local_stack.token(org, 'rep-1', ['rep'])}"}

    response = requests.patch(
        f"{base}/v1/me", json={"full_name": "Grace", "company": "Navy"}, headers=rep, timeout=30
    )
    assert response.status_code == 200, response.text
    me = requests.get(f"{base}/v1/me", headers=rep, timeout=30).json()
    assert (me["full_name"], me["company"], me["roles"]) == ("Grace", "Navy", ["rep"])

    email = f"{uuid.uuid4().hex[:8]}@example.com"
    new = {"email": email, "full_name": "New Rep", "roles": ["rep"]}
    assert requests.post(f"{base}/v1/org/members", json=new, headers=rep, timeout=30).status_code == 403
    response = requests.post(f"{base}/v1/org/members", json=new, headers=admin, timeout=30)
    assert response.status_code == 201, response.text
    member = response.json()
    url = f"{base}/v1/org/members/{member['user_id']}"
    response = requests.patch(url, json={"roles": ["rep", "compliance"]}, headers=admin, timeout=30)
    assert response.status_code == 200, response.text
    assert sorted(response.json()["roles"]) == ["compliance", "rep"]
    other_admin = {"Authorization": f"Bearer {local_stack.token(org + 'x', 'admin-1', ['admin'])}"}
    assert requests.delete(url, headers=other_admin, timeout=30).status_code == 404
    assert requests.delete(url, headers=admin, timeout=30).status_code == 204

    settings = {
        "default_phone_region": "FR",
        "call_retention_months": 12,
        "sms_confirmations": False,
        "daily_sms_cap": 10,
    }
    response = requests.put(f"{base}/v1/org/settings", json=settings, headers=admin, timeout=30)
    assert response.status_code == 200, response.text
    contact = {"name": "Jean", "type": "customer", "phones": ["06 12 34 56 78"]}
    response = requests.post(f"{base}/v1/contacts", json=contact, headers=rep, timeout=30)
    assert response.status_code == 201, response.text
    assert response.json()["phones"][0]["e164"] == "+33612345678"

    response = requests.post(
        f"{base}/v1/me/consents", json={"purpose": "geolocation"}, headers=rep, timeout=30
    )
    assert response.status_code == 201, response.text
    assert requests.delete(f"{base}/v1/me/consents/geolocation", headers=rep, timeout=30).status_code == 200
    state = requests.get(f"{base}/v1/me/consents", headers=rep, timeout=30).json()
    assert state["current"]["geolocation"]["granted"] is False


def test_photo_limits_are_enforced_by_the_local_s3(local_stack: RunningStack) -> None:
    base = local_stack.url
    rep = {"Authorization": f"Bearer {local_stack.token(f'photo-{uuid.uuid4().hex[:8]}', 'rep-1', ['rep'])}"}
    response = requests.post(
        f"{base}/v1/me/photo", json={"content_type": "image/jpeg"}, headers=rep, timeout=30
    )
    assert response.status_code == 201, response.text
    upload = response.json()
    assert upload["url"].startswith("http://127.0.0.1:")  # the local S3, not AWS

    def send(data: bytes, content_type: str = "image/jpeg") -> int:
        fields = {**upload["fields"], "Content-Type": content_type}
        return requests.post(
            upload["url"], data=fields, files={"file": ("p.jpg", data)}, timeout=30
        ).status_code

    assert send(b"\xff\xd8\xff" + b"0" * 100, "text/html") == 403
    assert send(b"0" * (5 * 1024 * 1024 + 1)) == 400
    assert send(b"\xff\xd8\xff" + b"0" * 100) == 204
    download = requests.get(f"{base}/v1/me/photo", headers=rep, timeout=30).json()
    assert requests.get(download["url"], timeout=30).content.startswith(b"\xff\xd8\xff")
    assert requests.delete(f"{base}/v1/me/photo", headers=rep, timeout=30).status_code == 204
    assert requests.get(f"{base}/v1/me/photo", headers=rep, timeout=30).status_code == 404


def test_a_fresh_account_answers_the_age_question_before_anything_else(local_stack: RunningStack) -> None:
    """Issue 16, point 4: until a member answers the age question, every gated route of every function
    answers 428 age_confirmation_required; the exempt routes work; bad answers are 4xx and change
    nothing; the answer counts at the next request."""
    org = f"age-{uuid.uuid4().hex[:8]}"
    base = local_stack.url
    fresh = {"Authorization": f"Bearer {local_stack.token(org, 'new-1', ['admin', 'rep'], answer_age=False)}"}
    gated = [
        ("GET", "/v1/contacts"),
        ("GET", "/v1/call-logs"),
        ("GET", "/v1/org/settings"),
        ("GET", "/v1/emails"),
    ]
    for method, path in gated:
        response = requests.request(method, f"{base}{path}", headers=fresh, timeout=30)
        assert response.status_code == 428, (path, response.text)
        error = response.json()["error"]
        assert (error["code"], error["field"]) == ("age_confirmation_required", "age"), path
    assert requests.get(f"{base}/v1/me", headers=fresh, timeout=30).status_code == 200
    assert requests.get(f"{base}/v1/me/consents", headers=fresh, timeout=30).status_code == 200
    assert requests.get(f"{base}/v1/me/age", headers=fresh, timeout=30).status_code == 404  # none yet

    for body in (
        {"attests_16_or_over": False},
        {"attests_16_or_over": "yes"},
        {"birth_date": "2014-02-30"},
        {},
    ):
        response = requests.put(f"{base}/v1/me/age", json=body, headers=fresh, timeout=30)
        assert response.status_code == 422, (body, response.text)
    malformed = {**fresh, "Content-Type": "application/json"}
    assert requests.put(f"{base}/v1/me/age", data="{", headers=malformed, timeout=30).status_code == 400
    assert requests.get(f"{base}/v1/me/age", headers=fresh, timeout=30).status_code == 404  # nothing changed
    assert requests.get(f"{base}/v1/contacts", headers=fresh, timeout=30).status_code == 428

    response = requests.put(f"{base}/v1/me/age", json={"attests_16_or_over": True}, headers=fresh, timeout=30)
    assert response.status_code == 200, response.text
    for method, path in gated:
        response = requests.request(method, f"{base}{path}", headers=fresh, timeout=30)
        assert response.status_code == 200, (path, response.text)


def test_an_under_16_answer_stays_blocked_until_the_guardian_confirms(local_stack: RunningStack) -> None:
    org = f"kid-{uuid.uuid4().hex[:8]}"
    base = local_stack.url
    kid = {"Authorization": f"Bearer {local_stack.token(org, 'kid-1', ['rep'], answer_age=False)}"}
    guardian = f"parent-{uuid.uuid4().hex[:8]}@example.com"
    body = {"birth_date": "2014-03-02", "guardian_name": "Ada Parent", "guardian_email": guardian}
    response = requests.put(f"{base}/v1/me/age", json=body, headers=kid, timeout=30)
    assert (response.status_code, response.json()["status"]) == (200, "pending_guardian"), response.text
    for _ in range(2):  # still blocked at the next request: the gate never cached the refusal as a pass
        response = requests.get(f"{base}/v1/contacts", headers=kid, timeout=30)
        assert (response.status_code, response.json()["error"]["code"]) == (403, "guardian_consent_required")
    attest = requests.put(f"{base}/v1/me/age", json={"attests_16_or_over": True}, headers=kid, timeout=30)
    assert attest.status_code == 409, attest.text  # the birth date is final: no way around the guardian
    assert requests.get(f"{base}/v1/contacts", headers=kid, timeout=30).status_code == 403

    outbox = requests.get(f"{base}/_local/outbox", timeout=30).json()["messages"]
    [mail] = [m for m in outbox if guardian in m["to"]]
    link = re.search(r"(http://\S+/guardian/consent\?token=\S+)", mail["body"])
    assert link is not None
    assert requests.post(link.group(1), timeout=30).status_code == 200
    assert requests.get(f"{base}/v1/contacts", headers=kid, timeout=30).status_code == 200

"""Issue 16, point 3, over HTTP on the running local stack: withdrawing ``geolocation`` deletes the
stored device locations (read back from the stack's DynamoDB) and a location reported afterwards is
dropped; an announcement reaches only the consenting member (read from the local SES outbox) with the
RFC 8058 headers, and both its unsubscribe link (GET page, form POST) and the one-click POST work."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
import requests

from callproof_local.provision import aws_session, local_name
from callproof_local.stack import STATE_FILE
from tests.fixtures.local_stack.process import RunningStack

pytestmark = pytest.mark.e2e
DEVICE = {"device_type": "phone", "os_name": "Android", "os_version": "15", "app_version": "4.2.0"}
LOCATED = {**DEVICE, "location_consent": True, "location": {"latitude": 48.85, "longitude": 2.35}}


def stored_location(stack: RunningStack, org: str, device: str) -> Any:
    moto_url = json.loads((stack.home / STATE_FILE).read_text())["moto_url"]
    client = aws_session().client("dynamodb", endpoint_url=moto_url)
    key = {"pk": {"S": f"ORG#{org}#DEVICE#{device}"}, "sk": {"S": "DEVICE"}}
    return client.get_item(TableName=local_name("CallLogsTable"), Key=key)["Item"].get("location")


def test_withdrawals_act_and_an_announcement_reaches_only_consenting_members(
    local_stack: RunningStack,
) -> None:
    base, org = local_stack.url, f"cons-{uuid.uuid4().hex[:8]}"
    admin = {"Authorization": f"Bearer {local_stack.token(org, 'admin-1', ['admin'])}"}
    rep = {"Authorization": f"Bearer {local_stack.token(org, 'rep-1', ['rep'])}"}

    # geolocation: given, a location is stored; withdrawn, it is deleted and the next one dropped
    assert requests.post(
        f"{base}/v1/me/consents", json={"purpose": "geolocation"}, headers=rep, timeout=30
    ).ok
    device = requests.put(f"{base}/v1/devices/pixel-1", json=LOCATED, headers=rep, timeout=30).json()
    assert device["location"] == LOCATED["location"]
    assert "M" in stored_location(local_stack, org, "pixel-1")
    assert requests.delete(f"{base}/v1/me/consents/geolocation", headers=rep, timeout=30).status_code == 200
    assert stored_location(local_stack, org, "pixel-1") in (None, {"NULL": True})
    device = requests.put(f"{base}/v1/devices/pixel-1", json=LOCATED, headers=rep, timeout=30).json()
    assert device["location"] is None
    assert stored_location(local_stack, org, "pixel-1") in (None, {"NULL": True})

    # marketing: two members, one consents; the announcement reaches that one only
    emails = {name: f"{name}-{uuid.uuid4().hex[:8]}@example.com" for name in ("ann", "bob")}
    users = {}
    for name, email in emails.items():
        body = {"email": email, "full_name": name, "roles": ["rep"]}
        response = requests.post(f"{base}/v1/org/members", json=body, headers=admin, timeout=30)
        assert response.status_code == 201, response.text
        users[name] = {
            "Authorization": f"Bearer {local_stack.token(org, response.json()['user_id'], ['rep'])}"
        }
    consent = {"purpose": "marketing_email"}
    assert requests.post(f"{base}/v1/me/consents", json=consent, headers=users["ann"], timeout=30).ok
    news = {"subject": "Call summaries are here", "text": "Every call now gets a summary."}
    response = requests.post(f"{base}/v1/org/announcements", json=news, headers=admin, timeout=30)
    assert response.status_code == 201, response.text
    assert (response.json()["sent"], response.json()["skipped"]) == (1, 1)  # bob never consented
    outbox = requests.get(f"{base}/_local/outbox", timeout=30).json()["messages"]
    assert [m for m in outbox if emails["bob"] in m["to"]] == []
    [mail] = [m for m in outbox if emails["ann"] in m["to"]]
    assert mail["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = re.fullmatch(r"<(http://\S+/email/unsubscribe\?token=\S+)>", mail["headers"]["List-Unsubscribe"])
    assert link is not None
    url = link.group(1)
    assert url in mail["body"]

    page = requests.get(url, timeout=30)  # what a person clicking sees: a one-button form, nothing changed
    assert page.status_code == 200
    assert "<form" in page.text
    state = requests.get(f"{base}/v1/me/consents", headers=users["ann"], timeout=30).json()
    assert state["current"]["marketing_email"]["granted"] is True
    one_click = requests.post(url, data={"List-Unsubscribe": "One-Click"}, timeout=30)  # RFC 8058
    assert one_click.status_code == 200, one_click.text
    state = requests.get(f"{base}/v1/me/consents", headers=users["ann"], timeout=30).json()
    assert state["current"]["marketing_email"]["granted"] is False
    assert state["current"]["marketing_email"]["source"] == "unsubscribe_link"
    response = requests.post(f"{base}/v1/org/announcements", json=news, headers=admin, timeout=30)
    assert response.json()["sent"] == 0
    assert (
        requests.post(f"{base}/v1/org/announcements", json=news, headers=rep, timeout=30).status_code == 403
    )

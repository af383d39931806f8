"""Calendars over HTTP on the local stack: connect Office 365 through the Microsoft double's consent
redirect, create and select a CRM calendar, create and move an event with a contact as attendee; a
write to another calendar is refused; disconnect."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests

from tests.fixtures.local_stack.process import RunningStack

pytestmark = pytest.mark.e2e


def test_connect_select_event_refusal_disconnect(local_stack: RunningStack) -> None:
    org = f"e2e-cal-{uuid.uuid4().hex[:8]}"
    headers = {"Authorization": f"Bearer {local_stack.token(org, 'rep-1', ['rep'])}"}

    def api(method: str, path: str, body: Any = None) -> requests.Response:
        return requests.request(method, local_stack.url + path, json=body, headers=headers, timeout=30)

    contact = api(
        "POST", "/v1/contacts", {"name": "Ada", "type": "customer", "emails": ["ada@customer.example"]}
    )
    assert contact.status_code == 201, contact.text

    authorize = api("POST", "/v1/integrations/microsoft/calendar/authorize")
    assert authorize.status_code == 200, authorize.text
    consent = requests.get(
        authorize.json()["authorization_url"] + f"&login_hint={org}@contoso.test",
        allow_redirects=False,
        timeout=10,
    )
    assert consent.status_code == 302
    callback = requests.get(consent.headers["Location"], timeout=30)
    assert callback.status_code == 200, callback.text
    assert requests.get(consent.headers["Location"], timeout=30).status_code == 422  # single-use state

    created = api("POST", "/v1/calendars", {"provider": "microsoft", "name": "CallProof"})
    assert created.status_code == 201, created.text
    calendar_id = created.json()["id"]
    selected = api("PUT", "/v1/calendars/selection", {"provider": "microsoft", "calendar_id": calendar_id})
    assert selected.status_code == 200, selected.text

    event = {
        "summary": "Demo",
        "start": "2026-12-01T10:00:00+01:00",
        "end": "2026-12-01T11:00:00+01:00",
        "attendee_contact_ids": [contact.json()["id"]],
    }
    made = api("POST", "/v1/calendar/events", event)
    assert made.status_code == 201, made.text
    assert made.json()["attendees"] == ["ada@customer.example"]
    moved = api(
        "PATCH",
        f"/v1/calendar/events/{made.json()['id']}",
        {"start": "2026-12-01T12:00:00+01:00", "end": "2026-12-01T13:00:00+01:00"},
    )
    assert moved.status_code == 200, moved.text

    default = next(c["id"] for c in api("GET", "/v1/calendars").json()["items"] if c["primary"])
    refused = api("POST", "/v1/calendar/events", {**event, "calendar_id": default})
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "calendar_not_selected"

    gone = api("DELETE", "/v1/integrations/microsoft/calendar")
    assert gone.status_code == 200, gone.text
    assert api("GET", "/v1/integrations/calendar").json() == {"connections": [], "selected": None}

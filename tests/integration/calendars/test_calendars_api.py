"""Calendars end to end in-process: handlers on moto, Google Calendar played by the local Google double
and Office 365 by the local Microsoft double, over loopback HTTP (requests-oauthlib on the wire)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import requests

from callproof_local import google_double, microsoft_double
from callproof_local.google_double import GoogleDouble
from callproof_local.microsoft_double import MicrosoftDouble
from callproof_local.template import Physical
from tests.integration.conftest import Invoke
from tests.support import api_event

GATEWAY = "http://127.0.0.1:9"  # never called: only names the callbacks
FN = "CalendarsFunction"
START, END = "2026-12-01T10:00:00+00:00", "2026-12-01T11:00:00+00:00"


@pytest.fixture
def doubles(
    aws_stack: dict[str, Physical], monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[GoogleDouble, MicrosoftDouble]]:
    google, microsoft = GoogleDouble().start(), MicrosoftDouble().start()
    env = {
        **google_double.local_environment(GATEWAY, google.url),
        **microsoft_double.local_environment(GATEWAY, microsoft.url),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    google_double.set_dev_credentials(boto3.Session(), None, aws_stack["GoogleOAuthSecret"].ref)
    microsoft_double.set_dev_credentials(boto3.Session(), None, aws_stack["MicrosoftOAuthSecret"].ref)
    yield google, microsoft
    google.stop()
    microsoft.stop()


def public_event(method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    event = api_event(method, path, **kwargs)
    event["requestContext"].pop("authorizer", None)
    return event


def connect(call: Invoke, provider: str) -> dict[str, Any]:
    status, body = call(
        FN,
        api_event(
            "POST",
            f"/v1/integrations/{provider}/calendar/authorize",
            resource="/v1/integrations/{provider}/calendar/authorize",
        ),
    )
    assert status == 200, body
    consent = requests.get(body["authorization_url"], allow_redirects=False, timeout=5)
    assert consent.status_code == 302, consent.text
    query = {k: v[0] for k, v in parse_qs(urlsplit(consent.headers["Location"]).query).items()}
    status, body = call(
        "CalendarCallbackFunction",
        public_event(
            "GET",
            f"/oauth/{provider}/calendar/callback",
            resource="/oauth/{provider}/calendar/callback",
            query={"state": query["state"], "code": query["code"]},
        ),
    )
    assert status == 200, body
    return body


def contact(call: Invoke, email: str = "ada@example.com") -> str:
    body = {"name": "Ada Lovelace", "type": "customer", "emails": [email]}
    status, created = call("ContactsFunction", api_event("POST", "/v1/contacts", body=body))
    assert status == 201, created
    return str(created["id"])


def patch_event(event_id: str, body: dict[str, Any]) -> dict[str, Any]:
    return api_event(
        "PATCH", f"/v1/calendar/events/{event_id}", resource="/v1/calendar/events/{event_id}", body=body
    )


@pytest.mark.parametrize("provider", ["google", "microsoft"])
def test_connect_list_create_select_event_patch_disconnect(
    call: Invoke, doubles: tuple[GoogleDouble, MicrosoftDouble], provider: str
) -> None:
    google, microsoft = doubles
    microsoft.access_ttl = 30  # inside the refresh margin: every use refreshes (and rotates)
    assert connect(call, provider)["status"] == "connected"
    ada = contact(call)

    status, listed = call(FN, api_event("GET", "/v1/calendars"))
    assert status == 200, listed
    assert [c["provider"] for c in listed["items"]] == [provider]
    status, created = call(
        FN, api_event("POST", "/v1/calendars", body={"provider": provider, "name": "CallProof"})
    )
    assert status == 201, created
    status, selected = call(
        FN,
        api_event(
            "PUT", "/v1/calendars/selection", body={"provider": provider, "calendar_id": created["id"]}
        ),
    )
    assert status == 200, selected
    status, listed = call(FN, api_event("GET", "/v1/calendars"))
    assert [c["id"] for c in listed["items"] if c["selected"]] == [created["id"]]

    body = {"summary": "Demo", "start": START, "end": END, "attendee_contact_ids": [ada]}
    status, event = call(FN, api_event("POST", "/v1/calendar/events", body=body))
    assert status == 201, event
    assert event["calendar_id"] == created["id"]
    assert event["attendees"] == ["ada@example.com"]
    status, patched = call(
        FN, patch_event(event["id"], {"summary": "Demo (moved)", "calendar_id": created["id"]})
    )
    assert status == 200, patched
    assert patched["summary"] == "Demo (moved)"

    # Writing any other calendar (here the account's primary one) is refused; the provider sees nothing.
    primary = next(c["id"] for c in listed["items"] if c["primary"])
    writes = (google.stats.get("calendar_writes", 0), microsoft.stats["calendar_writes"])
    status, refused = call(
        FN, api_event("POST", "/v1/calendar/events", body={**body, "calendar_id": primary})
    )
    assert status == 409
    assert refused["error"]["code"] == "calendar_not_selected"
    status, refused = call(FN, patch_event(event["id"], {"summary": "x", "calendar_id": primary}))
    assert status == 409
    assert (google.stats.get("calendar_writes", 0), microsoft.stats["calendar_writes"]) == writes

    if provider == "microsoft":  # every refresh rotated the refresh token, and the newest one was kept
        assert microsoft.stats["refreshes"] >= 4
        assert microsoft.valid_refresh_tokens(microsoft_double.DEFAULT_USER) == 1

    disconnect = api_event(
        "DELETE", f"/v1/integrations/{provider}/calendar", resource="/v1/integrations/{provider}/calendar"
    )
    status, gone = call(FN, disconnect)
    assert status == 200, gone
    assert gone["tokens_deleted"] is True
    assert gone["revoked"] is (provider == "google")
    status, state = call(FN, api_event("GET", "/v1/integrations/calendar"))
    assert state == {"connections": [], "selected": None}
    status, refused = call(FN, api_event("POST", "/v1/calendar/events", body=body))
    assert status == 409


def test_tokens_are_stored_encrypted_and_bad_input_is_4xx(
    call: Invoke, doubles: tuple[GoogleDouble, MicrosoftDouble], aws_stack: dict[str, Physical]
) -> None:
    connect(call, "microsoft")
    items = boto3.client("dynamodb").scan(TableName=aws_stack["MailTable"].ref)["Items"]
    row = next(i for i in items if i["sk"]["S"].startswith("CALENDAR#"))
    assert "token_ct" in row
    assert b"eyJ0eXAi" not in row["token_ct"]["B"]
    assert not any("access_token" in str(v) for v in row.values())

    bad = [
        api_event("POST", "/v1/calendar/events", body={"summary": "x", "start": "tomorrow", "end": END}),
        api_event(
            "POST", "/v1/calendar/events", body={"summary": "x", "start": START, "end": END, "color": 1}
        ),
        api_event("POST", "/v1/calendars", body={"provider": "yahoo", "name": "x"}),
        api_event(
            "POST",
            "/v1/integrations/yahoo/calendar/authorize",
            resource="/v1/integrations/{provider}/calendar/authorize",
        ),
    ]
    for event in bad:
        status, body = call(FN, event)
        assert 400 <= status < 500, body
    status, body = call(
        FN, api_event("POST", "/v1/calendar/events", body={"summary": "x", "start": START, "end": END})
    )
    assert status == 409
    assert body["error"]["code"] == "no_calendar_selected"


def test_a_revoked_grant_marks_the_connection_disconnected(
    call: Invoke, doubles: tuple[GoogleDouble, MicrosoftDouble]
) -> None:
    _, microsoft = doubles
    microsoft.access_ttl = 30
    connect(call, "microsoft")
    microsoft.revoke_user(microsoft_double.DEFAULT_USER)
    status, body = call(FN, api_event("GET", "/v1/calendars"))
    assert status == 409
    assert body["error"]["code"] == "calendar_disconnected"
    status, state = call(FN, api_event("GET", "/v1/integrations/calendar"))
    assert state["connections"][0]["status"] == "disconnected"

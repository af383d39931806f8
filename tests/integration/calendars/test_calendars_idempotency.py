"""POST /v1/calendars and POST /v1/calendar/events with an Idempotency-Key, on moto through the
handler, Office 365 played by the local double: a retry creates nothing more at the provider."""

from __future__ import annotations

import json
from typing import Any

from callproof_local.google_double import GoogleDouble
from callproof_local.microsoft_double import MicrosoftDouble
from tests.integration.calendars.test_calendars_api import END, FN, START, connect, doubles  # noqa: F401
from tests.integration.conftest import Invoke
from tests.support import api_event, keyed


def post(call: Invoke, path: str, body: dict[str, Any], key: str) -> dict[str, Any]:
    return call.raw(FN, keyed(api_event("POST", path, body=body), key))  # type: ignore[attr-defined,no-any-return]


def names(call: Invoke) -> list[str]:
    status, listed = call(FN, api_event("GET", "/v1/calendars"))
    assert status == 200, listed
    return sorted(c["name"] for c in listed["items"])


def test_retried_calendar_and_event_creates_reach_the_provider_once(
    call: Invoke,
    doubles: tuple[GoogleDouble, MicrosoftDouble],  # noqa: F811
) -> None:
    _, microsoft = doubles
    connect(call, "microsoft")
    body = {"provider": "microsoft", "name": "CallProof"}
    first = post(call, "/v1/calendars", body, "cal-1")
    again = post(call, "/v1/calendars", body, "cal-1")
    assert first["statusCode"] == again["statusCode"] == 201, first
    assert again["body"] == first["body"]
    assert names(call) == ["Calendar", "CallProof"]
    other = post(call, "/v1/calendars", {**body, "name": "Other"}, "cal-1")
    assert other["statusCode"] == 422
    assert names(call) == ["Calendar", "CallProof"]

    calendar_id = json.loads(first["body"])["id"]
    status, _ = call(
        FN,
        api_event(
            "PUT", "/v1/calendars/selection", body={"provider": "microsoft", "calendar_id": calendar_id}
        ),
    )
    assert status == 200
    event = {"summary": "Demo", "start": START, "end": END}
    writes = microsoft.stats["calendar_writes"]
    made = post(call, "/v1/calendar/events", event, "event-1")
    remade = post(call, "/v1/calendar/events", event, "event-1")
    assert made["statusCode"] == remade["statusCode"] == 201, made
    assert remade["body"] == made["body"]
    assert microsoft.stats["calendar_writes"] == writes + 1
    moved = post(call, "/v1/calendar/events", {**event, "summary": "Moved"}, "event-1")
    assert moved["statusCode"] == 422
    assert microsoft.stats["calendar_writes"] == writes + 1

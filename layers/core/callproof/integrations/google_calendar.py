"""Google Calendar v3 over HTTPS (``requests``): calendarList.list, calendars.insert, events.insert and
events.patch, nothing else. With the ``calendar.app.created`` scope Google lets CallProof write only the
calendars it created; ``calendar.calendarlist.readonly`` lets it list the account's calendars."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import requests

from callproof.calendars.model import Calendar, Event, EventDraft, Provider
from callproof.errors import InvalidInput, NotFound, TemporarilyUnavailable

GOOGLE_CALENDAR_BASE = "https://www.googleapis.com/calendar/v3"
HTTP_TIMEOUT = (3.05, 15)
_WRITERS = {"owner", "writer"}


def check(response: requests.Response, what: str) -> dict[str, Any]:
    """The JSON answer; provider errors as domain errors (never a 5xx of ours for their 4xx)."""
    if response.status_code in (401, 403):
        raise InvalidInput(f"the calendar provider refused {what} ({response.status_code})", field="calendar")
    if response.status_code == 404:
        raise NotFound(f"{what}: not found at the calendar provider")
    if response.status_code == 429 or response.status_code >= 500:
        raise TemporarilyUnavailable("the calendar provider is busy; retry shortly")
    if response.status_code >= 400:
        raise InvalidInput(f"the calendar provider refused {what} ({response.status_code})", field="event")
    body: dict[str, Any] = response.json() if response.content else {}
    return body


def _google_event_body(draft: EventDraft) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if draft.summary is not None:
        body["summary"] = draft.summary
    for name, value in (("start", draft.start), ("end", draft.end)):
        if value is not None:
            body[name] = {"dateTime": value, **({"timeZone": draft.time_zone} if draft.time_zone else {})}
    if draft.description is not None:
        body["description"] = draft.description
    if draft.location is not None:
        body["location"] = draft.location
    if draft.attendees is not None:
        body["attendees"] = [{"email": a.email, "displayName": a.name} for a in draft.attendees]
    return body


class GoogleCalendarApi:
    def __init__(
        self, access_token: str, base_url: str | None = None, session: requests.Session | None = None
    ):
        self._base = f"{base_url.rstrip('/')}/calendar/v3" if base_url else GOOGLE_CALENDAR_BASE
        self._http = session or requests.Session()
        self._headers = {"Authorization": f"Bearer {access_token}"}

    def _call(self, method: str, path: str, what: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self._http.request(
                method, self._base + path, headers=self._headers, timeout=HTTP_TIMEOUT, **kwargs
            )
        except (requests.ConnectionError, requests.Timeout):
            raise TemporarilyUnavailable("Google Calendar is unreachable; retry shortly") from None
        return check(response, what)

    def calendars(self) -> list[Calendar]:
        found: list[Calendar] = []
        page: str | None = None
        for _ in range(20):
            params = {"maxResults": "250", **({"pageToken": page} if page else {})}
            body = self._call("GET", "/users/me/calendarList", "the calendar list", params=params)
            found += [
                Calendar(
                    id=str(item["id"]),
                    name=str(item.get("summaryOverride") or item.get("summary") or ""),
                    can_edit=item.get("accessRole") in _WRITERS,
                    primary=bool(item.get("primary")),
                )
                for item in body.get("items", [])
            ]
            page = body.get("nextPageToken")
            if not page:
                break
        return found

    def create_calendar(self, name: str, time_zone: str | None) -> Calendar:
        payload = {"summary": name, **({"timeZone": time_zone} if time_zone else {})}
        body = self._call("POST", "/calendars", "creating the calendar", json=payload)
        return Calendar(id=str(body["id"]), name=str(body.get("summary", name)), can_edit=True)

    def _event(self, calendar_id: str, body: dict[str, Any]) -> Event:
        return Event(
            id=str(body["id"]),
            calendar_id=calendar_id,
            provider=Provider.GOOGLE,
            summary=str(body.get("summary", "")),
            start=str((body.get("start") or {}).get("dateTime", "")),
            end=str((body.get("end") or {}).get("dateTime", "")),
            attendees=tuple(str(a.get("email")) for a in body.get("attendees") or []),
            link=body.get("htmlLink"),
        )

    def create_event(self, calendar_id: str, draft: EventDraft) -> Event:
        path = f"/calendars/{quote(calendar_id, safe='')}/events"
        body = self._call(
            "POST", path, "creating the event", json=_google_event_body(draft), params={"sendUpdates": "all"}
        )
        return self._event(calendar_id, body)

    def update_event(self, calendar_id: str, event_id: str, draft: EventDraft) -> Event:
        path = f"/calendars/{quote(calendar_id, safe='')}/events/{quote(event_id, safe='')}"
        body = self._call(
            "PATCH", path, "updating the event", json=_google_event_body(draft), params={"sendUpdates": "all"}
        )
        return self._event(calendar_id, body)

"""Calendars REST API: connect Google Calendar / Office 365 (OAuth + PKCE), list the account's
calendars, create a CRM calendar, select one calendar, create and update events (CRM contacts as
attendees) in the selected calendar only, disconnect. Thin: parse, authenticate, call the service, map."""

from __future__ import annotations

import gc

gc.disable()  # no garbage collection while the function loads (ADR 0013); enabled again at the end

import datetime as dt
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from callproof import http, wiring
from callproof.calendars.api import (
    AuthorizeOut,
    CalendarIn,
    CalendarList,
    CalendarOut,
    CalendarStatusOut,
    ConnectionOut,
    DisconnectOut,
    EventIn,
    EventOut,
    EventPatch,
    SelectionIn,
    SelectionOut,
)
from callproof.calendars.model import Event, EventDraft
from callproof.calendars.service import parse_provider
from callproof.errors import InvalidInput
from callproof.observability import logger, metrics, tracer

app = http.resolver(wiring.policy_gate)


def _event_out(event: Event) -> EventOut:
    return EventOut(
        id=event.id,
        calendar_id=event.calendar_id,
        provider=event.provider,
        summary=event.summary,
        start=event.start,
        end=event.end,
        attendees=list(event.attendees),
        link=event.link,
    )


def _check_order(start: str | None, end: str | None) -> None:
    if start and end and dt.datetime.fromisoformat(end) <= dt.datetime.fromisoformat(start):
        raise InvalidInput("end must be after start", field="end")


@app.post("/v1/integrations/<provider>/calendar/authorize")
def authorize(provider: str) -> AuthorizeOut:
    """Start connecting a Google or Microsoft calendar.
    Answers the provider's consent URL (PKCE S256, single-use state bound to the caller)."""
    url = wiring.calendars().authorize(http.current_caller(app), parse_provider(provider))
    return AuthorizeOut(authorization_url=url)


@app.get("/v1/integrations/calendar")
def calendar_status() -> CalendarStatusOut:
    """The caller's calendar connections and the selected calendar."""
    connections, selected = wiring.calendars().status(http.current_caller(app))
    return CalendarStatusOut(
        connections=[
            ConnectionOut(provider=c.provider, status=c.status.value, connected_at=c.connected_at)
            for c in connections
        ],
        selected=SelectionOut(
            provider=selected.provider, calendar_id=selected.calendar_id, name=selected.name
        )
        if selected
        else None,
    )


@app.delete("/v1/integrations/<provider>/calendar")
def disconnect(provider: str) -> DisconnectOut:
    """Disconnect a calendar provider.
    Revokes the grant where the provider can, deletes the tokens and the selection."""
    chosen = parse_provider(provider)
    revoked = wiring.calendars().disconnect(http.current_caller(app), chosen)
    metrics.add_metric(name="CalendarDisconnected", unit="Count", value=1)
    return DisconnectOut(provider=chosen, revoked=revoked, tokens_deleted=True)


@app.get("/v1/calendars")
def list_calendars() -> CalendarList:
    """The connected accounts' calendars, the selected one marked."""
    caller = http.current_caller(app)
    service = wiring.calendars()
    _, selected = service.status(caller)
    items = [
        CalendarOut(
            provider=provider,
            id=c.id,
            name=c.name,
            can_edit=c.can_edit,
            primary=c.primary,
            selected=bool(selected and selected.provider is provider and selected.calendar_id == c.id),
        )
        for provider, c in service.all_calendars(caller)
    ]
    return CalendarList(items=items)


@app.post("/v1/calendars", status_code=HTTPStatus.CREATED)
def create_calendar(body: CalendarIn) -> CalendarOut:
    """Create a CRM calendar in a connected account."""
    created = wiring.calendars().create_calendar(
        http.current_caller(app), body.provider, body.name, body.time_zone
    )
    out = CalendarOut(
        provider=body.provider, id=created.id, name=created.name, can_edit=True, primary=False, selected=False
    )
    return out


@app.put("/v1/calendars/selection")
def select_calendar(body: SelectionIn) -> SelectionOut:
    """Choose the one calendar events go to (it must exist and be writable)."""
    selection = wiring.calendars().select(http.current_caller(app), body.provider, body.calendar_id)
    return SelectionOut(provider=selection.provider, calendar_id=selection.calendar_id, name=selection.name)


@app.post("/v1/calendar/events", status_code=HTTPStatus.CREATED)
def create_event(body: EventIn) -> EventOut:
    """Create an event in the selected calendar; CRM contacts as attendees need rep or admin.
    409 `calendar_not_selected` when no calendar is selected or another is named."""
    _check_order(body.start, body.end)
    draft = EventDraft(body.summary, body.start, body.end, None, body.description, body.location)
    event = wiring.calendars().create_event(
        http.current_caller(app), body.calendar_id, draft, body.attendee_contact_ids
    )
    metrics.add_metric(name="CalendarEventsCreated", unit="Count", value=1)
    return _event_out(event)


@app.patch("/v1/calendar/events/<event_id>")
def update_event(event_id: str, body: EventPatch) -> EventOut:
    """Change an event CallProof created in the selected calendar."""
    if len(event_id) > 1024:
        raise InvalidInput("event id too long", field="event_id")
    _check_order(body.start, body.end)
    draft = EventDraft(body.summary, body.start, body.end, None, body.description, body.location)
    event = wiring.calendars().update_event(
        http.current_caller(app), event_id, body.calendar_id, draft, body.attendee_contact_ids
    )
    return _event_out(event)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return http.handle(app, event, context)


gc.enable()  # loaded: what loading made lives as long as the environment, so collecting it was waste

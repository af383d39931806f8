"""The breach register's routes, included in the compliance staff's function (``functions/dsar``):
``app.include_router(routes(wiring_privacy.incidents))``. Thin: parse, call ``IncidentService``, show.
Every route requires the ``compliance`` role (the service checks it); the errors are mapped by the
including resolver (``callproof.http``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from http import HTTPStatus
from typing import TYPE_CHECKING, Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from callproof.incidents.api import AuthorityIn, IncidentIn, IncidentOut, IncidentPage, PeopleIn
from callproof.incidents.model import INCIDENT_ID_PATTERN, Incident
from callproof.tenancy import Caller, caller_from_event

if TYPE_CHECKING:
    from callproof.incidents.service import IncidentService

IncidentId = Annotated[str, Path(pattern=INCIDENT_ID_PATTERN)]


def routes(service: Callable[[], IncidentService]) -> Router:
    router = Router()  # type: ignore[no-untyped-call]

    def caller() -> Caller:
        return caller_from_event(router.current_event.raw_event)

    def shown(incident: Incident) -> IncidentOut:
        return IncidentOut.of(incident, datetime.now(UTC))

    @router.post("/v1/incidents", status_code=HTTPStatus.CREATED)
    def record_incident(body: IncidentIn) -> IncidentOut:
        """Record a personal-data breach (compliance): when it was detected, what happened, the stores,
        orgs and kinds of data it reached. Who is affected is counted (members, subjects), never listed;
        the 72-hour clock to notify the supervisory authority starts at `detected_at`."""
        return shown(service().record(caller(), body))

    @router.get("/v1/incidents")
    def list_incidents(
        limit: Annotated[int, Query(ge=1, le=100)] = 50,
        cursor: Annotated[str | None, Query(max_length=2048)] = None,
    ) -> IncidentPage:
        """The org's incidents, newest first (compliance)."""
        items, next_cursor = service().page(caller(), limit, cursor)
        return IncidentPage(items=[shown(incident) for incident in items], next_cursor=next_cursor)

    @router.get("/v1/incidents/<incident_id>")
    def get_incident(incident_id: IncidentId) -> IncidentOut:
        """An incident: status, affected counts, the authority's clock and the people's notification."""
        return shown(service().get(caller(), incident_id))

    @router.post("/v1/incidents/<incident_id>/authority")
    def authority_notified(incident_id: IncidentId, body: AuthorityIn) -> IncidentOut:
        """Record that the supervisory authority was notified (stops the 72-hour clock)."""
        return shown(service().authority_notified(caller(), incident_id, body))

    @router.post("/v1/incidents/<incident_id>/people")
    def decide_people(incident_id: IncidentId, body: PeopleIn) -> IncidentOut:
        """Decide whether the affected people must be told; `notify` emails each affected member once
        (what happened, what data, what to do). Repeating it emails nobody twice."""
        return shown(service().decide_people(caller(), incident_id, body))

    return router

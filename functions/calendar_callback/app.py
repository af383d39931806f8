"""Where Google or Microsoft sends the user's browser after the calendar consent screen (public: the
single-use OAuth state says who). Completes the connection."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from callproof import http, wiring
from callproof.calendars.api import CalendarConnectedOut
from callproof.calendars.service import parse_provider
from callproof.errors import InvalidInput
from callproof.observability import logger, metrics, tracer

app = http.resolver()


@app.get("/oauth/<provider>/calendar/callback")
def oauth_callback(
    provider: str,
    state: Annotated[str, Query(max_length=200)] = "",
    code: Annotated[str | None, Query(max_length=4096)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
) -> CalendarConnectedOut:
    """Where the calendar provider sends the browser after consent.
    Public: the single-use state says whose connection it is; the code is exchanged and the tokens sealed."""
    service, chosen = wiring.calendars(), parse_provider(provider)
    if error or not code:
        service.cancel(chosen, state)
        raise InvalidInput("calendar sign-in was not completed", field="code")
    connection = service.complete(chosen, state, code)
    metrics.add_metric(name="CalendarConnected", unit="Count", value=1)
    return CalendarConnectedOut(
        provider=connection.provider, status=connection.status.value, user_id=connection.user_id
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return http.handle(app, event, context)

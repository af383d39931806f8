"""Where Google or Microsoft sends the user's browser after the calendar consent screen (public: the
single-use OAuth state says who). Completes the connection and answers a page (``Accept:
application/json``: JSON)."""

from __future__ import annotations

import gc

gc.disable()  # no garbage collection while the function loads (ADR 0013); enabled again at the end

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from callproof import http, oauth_landing, wiring
from callproof.calendars.api import CalendarConnectedOut
from callproof.calendars.service import parse_provider
from callproof.errors import InvalidInput
from callproof.observability import logger, metrics, tracer

app = http.resolver()
TITLE = "Calendar for CallProof"
PROVIDER_NAMES = {"google": "Google Calendar", "microsoft": "Office 365 calendar"}


@app.get("/oauth/<provider>/calendar/callback", responses=oauth_landing.landing_answers(CalendarConnectedOut))
def oauth_callback(
    provider: str,
    state: Annotated[str, Query()] = "",
    code: Annotated[str | None, Query()] = None,
    error: Annotated[str | None, Query()] = None,
) -> Response[Any]:
    """Where the calendar provider sends the browser after consent.
    Public: the single-use state says whose connection it is; the code is exchanged and the tokens
    sealed. Answers a page; `Accept: application/json` gets JSON."""

    def complete() -> tuple[CalendarConnectedOut, str]:
        chosen = parse_provider(provider)  # an unknown provider is a 404, before any client is built
        if len(state) > 200 or len(code or "") > 4096 or len(error or "") > 200:
            raise InvalidInput("the sign-in answer is malformed", field="state")
        service = wiring.calendars()
        if error or not code:
            service.cancel(chosen, state)
            raise InvalidInput("calendar sign-in was not completed", field="code")
        connection = service.complete(chosen, state, code)
        metrics.add_metric(name="CalendarConnected", unit="Count", value=1)
        out = CalendarConnectedOut(
            provider=connection.provider, status=connection.status.value, user_id=connection.user_id
        )
        name = PROVIDER_NAMES[connection.provider.value]
        return out, f"Your {name} is connected: choose the calendar CallProof writes to in CallProof."

    return oauth_landing.landing(app, TITLE, complete)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return http.handle(app, event, context)


gc.enable()  # loaded: what loading made lives as long as the environment, so collecting it was waste

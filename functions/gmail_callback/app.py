"""Where Google sends the user's browser after the Gmail consent screen (public: the single-use
OAuth state says who). Completes the connection."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from callproof import http, wiring
from callproof.errors import InvalidInput
from callproof.mail.api import ConnectedOut
from callproof.observability import logger, metrics, tracer

app = http.resolver()


@app.get("/oauth/google/callback")
def oauth_callback(
    state: Annotated[str, Query(max_length=200)] = "",
    code: Annotated[str | None, Query(max_length=2048)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
) -> ConnectedOut:
    """Where Google sends the browser after consent.
    Public: the single-use state says whose connection it is; the code is exchanged, the tokens sealed
    and the mailbox watched. A used, unknown or expired state is 422."""
    service = wiring.gmail()[0]
    if error or not code:
        service.cancel(state)
        raise InvalidInput("Google sign-in was not completed", field="code")
    integration = service.complete(state, code)
    metrics.add_metric(name="GmailConnected", unit="Count", value=1)
    return ConnectedOut(status=integration.status.value, user_id=integration.user_id)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return http.handle(app, event, context)

"""Where Google sends the user's browser after the consent screen, for Gmail or for the Google
Contacts grant (public: the single-use OAuth state says whose and which). Completes the connection and
answers a page (``Accept: application/json``: JSON)."""

from __future__ import annotations

import gc

gc.disable()  # no garbage collection while the function loads (ADR 0013); enabled again at the end

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from callproof import http, oauth_landing, wiring
from callproof.errors import InvalidInput
from callproof.mail.api import ConnectedOut
from callproof.observability import logger, metrics, tracer

app = http.resolver()
TITLE = "Google for CallProof"
METRICS = {"gmail": "GmailConnected", "contacts": "GoogleContactsConnected"}
CONNECTED = {
    "gmail": "Gmail is connected: CallProof now syncs the mail you exchange with your CRM contacts.",
    "contacts": "Google Contacts is connected: import them from CallProof's contacts page.",
}


@app.get("/oauth/google/callback", responses=oauth_landing.landing_answers(ConnectedOut))
def oauth_callback(
    state: Annotated[str, Query()] = "",
    code: Annotated[str | None, Query()] = None,
    error: Annotated[str | None, Query()] = None,
) -> Response[Any]:
    """Where Google sends the browser after consent (Gmail, or the Google Contacts grant).
    Public: the single-use state says whose and which grant; the code is exchanged, the tokens sealed
    (and, for Gmail, the mailbox watched). A used, unknown or expired state is 422. Answers a page;
    `Accept: application/json` gets JSON."""

    def complete() -> tuple[ConnectedOut, str]:
        if len(state) > 200 or len(code or "") > 2048 or len(error or "") > 200:  # before any client is built
            raise InvalidInput("the sign-in answer is malformed", field="state")
        service = wiring.gmail()[0]
        if error or not code:
            service.cancel(state)
            raise InvalidInput("Google sign-in was not completed", field="code")
        connected = service.callback(state, code)
        metrics.add_metric(name=METRICS[connected.grant], unit="Count", value=1)
        out = ConnectedOut(status=connected.status, user_id=connected.user_id, grant=connected.grant)
        return out, CONNECTED[connected.grant]

    return oauth_landing.landing(app, TITLE, complete)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return http.handle(app, event, context)


gc.enable()  # loaded: what loading made lives as long as the environment, so collecting it was waste

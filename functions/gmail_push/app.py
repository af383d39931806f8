"""Gmail's Pub/Sub push (OIDC-authenticated webhook): a mailbox changed; queue its sync. The token is
verified before the body is read; the answer is fast, since the sync runs in functions/gmail_sync."""

from __future__ import annotations

import gc

gc.disable()  # no garbage collection while the function loads (ADR 0013); enabled again at the end

import json
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from callproof import http, wiring
from callproof.errors import DomainError, InvalidInput
from callproof.observability import logger, metrics, tracer

app = http.resolver(max_body_bytes=64 * 1024)  # a push is a small JSON envelope


class MalformedJson(DomainError):
    """Answers 400 (``callproof.http`` maps unlisted domain errors to Bad Request)."""

    code = "malformed_json"


@app.post("/webhooks/gmail/push", status_code=HTTPStatus.NO_CONTENT)
def gmail_push() -> Response[None]:
    """Gmail's Pub/Sub push (signed by Google).
    The OIDC token is verified before the body is read; acknowledged fast (the sync runs from the
    queue). Unknown mailboxes, duplicates and stale pushes are acknowledged too."""
    _, sync, settings = wiring.gmail()
    from callproof.integrations.google_push import decode_notification, verify_push_token

    verify_push_token(
        app.current_event.headers.get("authorization"),
        settings.push_audience,
        settings.push_service_account,
        settings.google_certs_url,
    )
    try:
        body = json.loads(app.current_event.body or "null")
    except ValueError:
        raise MalformedJson("request body is not valid JSON", field="body") from None
    message = body.get("message") if isinstance(body, dict) else None
    data = message.get("data") if isinstance(message, dict) else None
    if not isinstance(data, str) or len(data) > 4096:
        raise InvalidInput("message.data missing", field="message.data")
    notification = decode_notification(data)
    queued = sync.push(notification.mailbox, notification.history_id)
    metrics.add_metric(name="GmailPushQueued" if queued else "GmailPushIgnored", unit="Count", value=1)
    return Response(HTTPStatus.NO_CONTENT)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return http.handle(app, event, context)


gc.enable()  # loaded: what loading made lives as long as the environment, so collecting it was waste

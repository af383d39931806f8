"""SMS: Twilio's webhooks (inbound messages, delivery status). Thin: verify, parse, call, answer TwiML.

X-Twilio-Signature is checked against the configured public URL (path and query string as Twilio
called them) before anything else is read.
"""

from __future__ import annotations

import gc

gc.disable()  # no garbage collection while the function loads (ADR 0013); enabled again at the end

import re
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from callproof import http, wiring
from callproof.errors import Forbidden, InvalidInput
from callproof.integrations.twilio_webhook import (
    TWIML_CONTENT_TYPE,
    FormParams,
    called_urls,
    signature_is_valid,
    twiml,
)
from callproof.observability import logger, metrics, tracer
from callproof.sms.model import InboundSms
from callproof.sms.numbers import inbound_number
from callproof.sms.service import SmsService

# A Twilio webhook is a few hundred bytes plus a body of <= 1,600 characters.
app = http.resolver(max_body_bytes=16 * 1024, form_bodies=True)
MAX_FORM_FIELDS = 100
_SID = r"^(SM|MM)[0-9a-fA-F]{32}$"


def service() -> SmsService:
    return wiring.sms()[0]


def _form() -> FormParams:
    return FormParams(http.form_pairs(app, MAX_FORM_FIELDS))


def _verified_form() -> FormParams:
    """The form parameters, only if X-Twilio-Signature matches our public URL of this endpoint and
    the query string it was called with."""
    _, settings, twilio_secret = wiring.sms()
    params = _form()
    event = app.current_event
    signature = event.headers.get("x-twilio-signature")
    if not settings.public_base_url or not signature_is_valid(
        twilio_secret.field("auth_token"),
        called_urls(settings.public_base_url, event.path, event.multi_value_query_string_parameters),
        params,
        signature,
    ):
        metrics.add_metric(name="SmsWebhookRejected", unit="Count", value=1)
        raise Forbidden("invalid Twilio signature")
    return params


def _required(params: FormParams, name: str, pattern: str | None = None) -> str:
    value = params.first(name)
    if value is None or (pattern is not None and not re.match(pattern, value)):
        raise InvalidInput(f"missing or invalid {name}", field=name)
    return value


def _twiml(message: str | None) -> Response[str]:
    return Response(HTTPStatus.OK, TWIML_CONTENT_TYPE, twiml(message))


# ----------------------------------------------------------------------------------- webhooks
@app.post("/webhooks/twilio/sms", responses=http.page_answers(TWIML_CONTENT_TYPE, 200))
def inbound_message() -> Response[str]:
    """Twilio's inbound-message webhook (signed): keywords act at once, the reply is TwiML."""
    params = _verified_form()
    message_sid = _required(params, "MessageSid", _SID)
    inbound = InboundSms(
        message_sid=message_sid,
        from_number=inbound_number(_required(params, "From"), "From"),
        to=_required(params, "To"),
        body=_required(params, "Body"),
        messaging_service_sid=params.first("MessagingServiceSid") or None,
        opt_out_type=params.first("OptOutType") or None,
    )
    reply = service().receive(inbound)
    metrics.add_metric(name="SmsInbound", unit="Count", value=1)
    logger.info("inbound sms", extra={"message_sid": message_sid, "outcome": reply.outcome})
    return _twiml(reply.message)


@app.post(
    "/webhooks/twilio/sms/status/<org_id>/<contact_id>/<message_id>",
    responses=http.page_answers(TWIML_CONTENT_TYPE, 200),
)
def delivery_status(org_id: str, contact_id: str, message_id: str) -> Response[str]:
    """Twilio's delivery-status callback for one sent message (signed); answers empty TwiML."""
    params = _verified_form()  # the org and message in the path are covered by the signature
    message_sid = _required(params, "MessageSid", _SID)
    status = _required(params, "MessageStatus", r"^[a-z_]{1,20}$")
    code = params.first("ErrorCode")
    error_code = int(code) if code and code.isdigit() else None
    found = service().delivery_status(
        org_id, contact_id, message_id, message_sid, status, error_code, params.first("To")
    )
    logger.info("sms status", extra={"message_sid": message_sid, "status": status, "found": found})
    return _twiml(None)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return http.handle(app, event, context)


gc.enable()  # loaded: what loading made lives as long as the environment, so collecting it was waste

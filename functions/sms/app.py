"""SMS for reps and admins (authenticated REST): sender numbers and settings, sending to customers,
threads, consent status and consent links. Thin: parse, call ``SmsService``, map.

Phone numbers travel in bodies only, never in URLs (which reach access logs): the consent of a number
is read with ``POST /v1/sms/consent/lookup`` and recorded with ``POST /v1/sms/consent``. The old
``/v1/sms/consent/{e164}`` answers 410 with the new routes, without reading the number.
"""

from __future__ import annotations

import gc

gc.disable()  # no garbage collection while the function loads (ADR 0013); enabled again at the end

from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from callproof import http, wiring
from callproof.errors import Gone
from callproof.observability import logger, metrics, tracer
from callproof.sms.model import (
    ConsentEntryOut,
    ConsentView,
    LinkIn,
    LinkOut,
    MessageOut,
    OrgSmsConfig,
    OrgSmsOut,
    SendersIn,
    SendIn,
    SmsConsentIn,
    SmsConsentLookupIn,
    SmsConsentOut,
    SmsSettingsIn,
    ThreadOut,
)
from callproof.sms.service import SmsService

app = http.resolver(wiring.policy_gate)


def service() -> SmsService:
    return wiring.sms()[0]


def _config_out(config_: OrgSmsConfig) -> OrgSmsOut:
    return OrgSmsOut.of(config_, service().default_daily_cap)


@app.get("/v1/org/sms")
def get_sms_config() -> OrgSmsOut:
    """The org's SMS configuration: senders and settings."""
    return _config_out(service().config(http.current_caller(app)))


@app.put("/v1/org/sms/senders")
def put_senders(body: SendersIn) -> OrgSmsOut:
    """Set the org's Twilio numbers or Messaging Service (admin); a number another org registered is 409."""
    return _config_out(service().set_senders(http.current_caller(app), body))


@app.put("/v1/org/sms/settings")
def put_settings(body: SmsSettingsIn) -> OrgSmsOut:
    """Set the org's SMS brand, HELP contact, confirmations and daily cap (admin)."""
    return _config_out(service().set_settings(http.current_caller(app), body))


@app.post("/v1/sms/messages", status_code=HTTPStatus.CREATED)
def send_message(body: SendIn) -> MessageOut:
    """Text an existing customer through Twilio; stored and answered 201.
    Refusals are machine-readable: 422 `not_a_customer` / `no_phone`, 409 `opted_out` / `restricted`
    / `suppressed` / `sms_not_configured` / `daily_cap_reached`."""
    message = service().send(http.current_caller(app), body)
    metrics.add_metric(name="SmsSent", unit="Count", value=1)
    logger.info("sms sent", extra={"message_sid": message.message_sid, "contact_id": message.contact_id})
    return MessageOut.of(message)


@app.get("/v1/contacts/<contact_id>/sms")
def get_thread(
    contact_id: str,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> ThreadOut:
    """A contact's SMS thread, newest first, with delivery statuses."""
    page = service().thread(http.current_caller(app), contact_id, limit, cursor)
    return ThreadOut(items=[MessageOut.of(m) for m in page.messages], next_cursor=page.next_cursor)


def _consent_out(view: ConsentView) -> SmsConsentOut:
    return SmsConsentOut(
        phone=view.e164, status=view.status, history=[ConsentEntryOut.of(e) for e in view.history]
    )


@app.post("/v1/sms/consent/lookup")
def lookup_consent(body: SmsConsentLookupIn) -> SmsConsentOut:
    """A number's consent status and ledger history (numbers go in bodies, never in URLs)."""
    return _consent_out(service().consent(http.current_caller(app), body.phone))


@app.post("/v1/sms/consent")
def record_consent(body: SmsConsentIn) -> SmsConsentOut:
    """Record consent given by other means: `opted_out` (reps) or `opted_in` (admins)."""
    return _consent_out(service().record_consent(http.current_caller(app), body.phone, body.status))


MOVED = (
    "phone numbers no longer go in URLs: read consent with POST /v1/sms/consent/lookup "
    '{"phone"}, record it with POST /v1/sms/consent {"phone", "status"}'
)


# Not in the OpenAPI document: no longer part of the API, kept to tell old clients where to go.
@app.get("/v1/sms/consent/<e164>", include_in_schema=False)
@app.post("/v1/sms/consent/<e164>", include_in_schema=False)
def moved_consent(e164: str) -> None:  # the number in the path is never read
    raise Gone(MOVED)


@app.post("/v1/sms/links")
def create_link(body: LinkIn) -> LinkOut:
    """A signed link to the opt-in or opt-out page for a number, valid 30 days."""
    url, expires = service().make_link(http.current_caller(app), body.phone, body.action)
    return LinkOut(url=url, expires_at=expires)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return http.handle(app, event, context)


gc.enable()  # loaded: what loading made lives as long as the environment, so collecting it was waste

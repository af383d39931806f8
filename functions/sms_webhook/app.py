"""SMS: Twilio webhooks (inbound, delivery status), consent pages, rep API. Thin: parse, call, map.

Webhooks check X-Twilio-Signature against the configured public URL before reading anything else.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.shared.cookies import Cookie, SameSite
from aws_lambda_powertools.utilities.typing import LambdaContext

from callproof import http, wiring
from callproof.errors import DomainError, Forbidden, InvalidInput, NotFound
from callproof.integrations.twilio_webhook import TWIML_CONTENT_TYPE, FormParams, signature_is_valid, twiml
from callproof.observability import logger, metrics, tracer
from callproof.phones import masked
from callproof.sms import links, pages
from callproof.sms.model import (
    ConsentEntryOut,
    ConsentIn,
    ConsentOut,
    ConsentView,
    InboundSms,
    LinkIn,
    LinkOut,
    MessageOut,
    OrgSmsConfig,
    OrgSmsOut,
    SendersIn,
    SendIn,
    SmsSettingsIn,
    ThreadOut,
)
from callproof.sms.service import SmsService, inbound_number

app = http.resolver()

MAX_FORM_BYTES = 16 * 1024  # a Twilio webhook is a few hundred bytes plus a body of <= 1,600 chars
MAX_FORM_FIELDS = 100
CSRF_COOKIE = "sms_csrf"
_SID = r"^(SM|MM)[0-9a-fA-F]{32}$"
ORG_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def service() -> SmsService:
    return wiring.sms()[0]


# ------------------------------------------------------------------------------------ helpers
def _form() -> FormParams:
    return FormParams(http.form_pairs(app, MAX_FORM_FIELDS))


def _verified_form() -> FormParams:
    """The form parameters, only if X-Twilio-Signature matches our public URL of this endpoint."""
    _, settings, twilio_secret = wiring.sms()
    params = _form()
    signature = app.current_event.headers.get("x-twilio-signature")
    url = f"{(settings.public_base_url or '').rstrip('/')}{app.current_event.path}"
    if not settings.public_base_url or not signature_is_valid(
        twilio_secret.field("auth_token"), url, params, signature
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
@app.post("/webhooks/twilio/sms")
def inbound_message() -> Response[str]:
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


@app.post("/webhooks/twilio/sms/status/<org_id>/<contact_id>/<message_id>")
def delivery_status(org_id: str, contact_id: str, message_id: str) -> Response[str]:
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


# -------------------------------------------------------------------------------- consent pages
def _form_page(action: str, *, error: str | None = None, status: int = 200, **fields: Any) -> Response[str]:
    nonce, csrf = service().new_csrf()
    secure = (wiring.sms()[1].public_base_url or "").startswith("https://")
    cookie = Cookie(
        CSRF_COOKIE, nonce, path="/", secure=secure, http_only=True, same_site=SameSite.STRICT_MODE,
        max_age=int(links.CSRF_TTL.total_seconds()),
    )  # fmt: skip
    return http.html_response(
        status, pages.form(pages.FormPage(action, csrf, error=error, **fields)), [cookie]
    )


def _show(action: str) -> Response[str]:
    token = app.current_event.get_query_string_value("token")
    org_id = app.current_event.get_query_string_value("org") or ""
    try:
        if token:
            claims = service().link_claims(token, action)
            return _form_page(action, token=token, masked_number=masked(claims.e164))
        if action == "opt-in":
            return http.html_response(200, pages.opt_in_by_reply(action))
        if ORG_ID.match(org_id):  # known or not, the same form: the page reveals no org
            return _form_page(action, org_id=org_id)
    except links.InvalidToken as exc:
        return http.html_response(400, pages.problem(action, exc.message))
    return http.html_response(404, pages.problem(action, "This link is not valid."))


def _same_origin() -> bool:
    """Browsers send Origin on form posts; one from another site is refused (CSRF defence in depth)."""
    origin = app.current_event.headers.get("origin")
    if origin is None:
        return True
    base = urllib.parse.urlsplit(wiring.sms()[1].public_base_url or "")
    return origin == f"{base.scheme}://{base.netloc}"


def _submit(action: str) -> Response[str]:
    try:
        params = _form()
        cookie = _cookie(CSRF_COOKIE)
        if not _same_origin():
            raise Forbidden("cross-site form post")
        try:
            service().check_csrf(cookie, params.first("csrf"))
        except links.InvalidToken as exc:
            raise Forbidden(exc.message) from None
        token = params.first("token")
        if token:  # a signed link names the number: one step
            claims = service().link_claims(token, action)
            service().web_consent(claims.org_id, claims.e164, action)
            return _done(action, claims.e164)
        if action != "opt-out":
            raise NotFound("An opt-in needs the link your account team sent you.")
        return _typed_opt_out(params)
    except DomainError as exc:
        return http.html_response(int(http.status_for(exc)), pages.problem(action, exc.message))


def _typed_opt_out(params: FormParams) -> Response[str]:
    """A typed number proves nothing: it gets a code first, and the code records the opt-out."""
    org_id = params.first("org") or ""
    if not ORG_ID.match(org_id):
        raise NotFound("This link is not valid.")
    try:
        e164 = service().number(org_id, params.first("phone") or "", "phone")
    except InvalidInput:
        error = "Please enter a valid mobile number, like +1 415 555 0100."
        return _form_page("opt-out", org_id=org_id, status=422, error=error)
    code = params.first("code")
    if code is None:
        service().send_opt_out_code(org_id, e164, http.client_address(app))
        return _form_page("opt-out", org_id=org_id, e164=e164)
    try:
        service().opt_out_with_code(org_id, e164, code)
    except DomainError as exc:
        if exc.field != "code":
            raise
        return _form_page(
            "opt-out", org_id=org_id, e164=e164, status=int(http.status_for(exc)), error=exc.message
        )
    return _done("opt-out", e164)


def _done(action: str, e164: str) -> Response[str]:
    metrics.add_metric(name="SmsWebConsent", unit="Count", value=1)
    logger.info("web consent recorded", extra={"action": action})
    return http.html_response(200, pages.done(action, masked(e164)))


def _cookie(name: str) -> str | None:
    header = app.current_event.headers.get("cookie")
    if not header:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except CookieError:
        return None
    morsel = jar.get(name)
    return morsel.value if morsel is not None else None


@app.get("/sms/opt-out")
def opt_out_page() -> Response[str]:
    return _show("opt-out")


@app.get("/sms/opt-in")
def opt_in_page() -> Response[str]:
    return _show("opt-in")


@app.post("/sms/opt-out")
def opt_out_submit() -> Response[str]:
    return _submit("opt-out")


@app.post("/sms/opt-in")
def opt_in_submit() -> Response[str]:
    return _submit("opt-in")


# ------------------------------------------------------------------------------------ rep API
def _config_out(config_: OrgSmsConfig) -> OrgSmsOut:
    return OrgSmsOut.of(config_, service().default_daily_cap)


@app.get("/v1/org/sms")
def get_sms_config() -> OrgSmsOut:
    return _config_out(service().config(http.current_caller(app)))


@app.put("/v1/org/sms/senders")
def put_senders(body: SendersIn) -> OrgSmsOut:
    return _config_out(service().set_senders(http.current_caller(app), body))


@app.put("/v1/org/sms/settings")
def put_settings(body: SmsSettingsIn) -> OrgSmsOut:
    return _config_out(service().set_settings(http.current_caller(app), body))


@app.post("/v1/sms/messages")
def send_message(body: SendIn) -> Response[MessageOut]:
    message = service().send(http.current_caller(app), body)
    metrics.add_metric(name="SmsSent", unit="Count", value=1)
    logger.info("sms sent", extra={"message_sid": message.message_sid, "contact_id": message.contact_id})
    return Response(HTTPStatus.CREATED, content_types.APPLICATION_JSON, MessageOut.of(message))


@app.get("/v1/contacts/<contact_id>/sms")
def get_thread(
    contact_id: str,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> ThreadOut:
    page = service().thread(http.current_caller(app), contact_id, limit, cursor)
    return ThreadOut(items=[MessageOut.of(m) for m in page.messages], next_cursor=page.next_cursor)


def _consent_out(view: ConsentView) -> ConsentOut:
    return ConsentOut(
        phone=view.e164, status=view.status, history=[ConsentEntryOut.of(e) for e in view.history]
    )


@app.get("/v1/sms/consent/<e164>")
def get_consent(e164: str) -> ConsentOut:
    return _consent_out(service().consent(http.current_caller(app), urllib.parse.unquote(e164)))


@app.post("/v1/sms/consent/<e164>")
def record_consent(e164: str, body: ConsentIn) -> ConsentOut:
    view = service().record_consent(http.current_caller(app), urllib.parse.unquote(e164), body.status)
    return _consent_out(view)


@app.post("/v1/sms/links")
def create_link(body: LinkIn) -> LinkOut:
    url, expires = service().make_link(http.current_caller(app), body.phone, body.action)
    return LinkOut(url=url, expires_at=expires)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Form posts (webhooks, consent pages) are small: refuse big ones before parsing anything."""
    body = event.get("body") or ""
    size = len(body) * 3 // 4 if event.get("isBase64Encoded") else len(body.encode())
    if str(event.get("path") or "").startswith(("/webhooks/", "/sms/")) and size > MAX_FORM_BYTES:
        return {
            "statusCode": int(HTTPStatus.REQUEST_ENTITY_TOO_LARGE),
            "headers": {"Content-Type": content_types.APPLICATION_JSON},
            "body": json.dumps(
                {
                    "error": {
                        "code": "payload_too_large",
                        "message": f"body over {MAX_FORM_BYTES} bytes",
                        "field": "body",
                        "details": [],
                    }
                }
            ),
            "isBase64Encoded": False,
        }
    return http.handle(app, event, context)

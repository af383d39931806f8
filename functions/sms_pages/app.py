"""SMS consent pages (public, no login): opt out or in from a signed link, or opt out by a typed
number proven with a texted code. Forms carry a CSRF token paired with a SameSite=Strict cookie."""

from __future__ import annotations

import gc

gc.disable()  # no garbage collection while the function loads (ADR 0013); enabled again at the end

import re
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from callproof import csrf, http, wiring
from callproof.errors import DomainError, Forbidden, InvalidInput, NotFound
from callproof.integrations.twilio_webhook import FormParams
from callproof.observability import logger, metrics, tracer
from callproof.phones import masked
from callproof.sms import links, pages
from callproof.sms.web_consent import WebConsent

app = http.resolver(max_body_bytes=16 * 1024, form_bodies=True)  # a consent form is a few fields
MAX_FORM_FIELDS = 100
CSRF_COOKIE = "sms_csrf"
# every answer of these routes is a page, refusals included (oversized or non-form bodies: JSON errors)
PAGE_ANSWERS = http.page_answers(content_types.TEXT_HTML, 200, 400, 403, 404, 409, 422, 429, 503)
ORG_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def service() -> WebConsent:
    return wiring.web_consent()[0]


def _form() -> FormParams:
    return FormParams(http.form_pairs(app, MAX_FORM_FIELDS))


def _form_page(action: str, *, error: str | None = None, status: int = 200, **fields: Any) -> Response[str]:
    nonce, token = service().new_csrf()
    cookie = csrf.cookie(CSRF_COOKIE, nonce, wiring.web_consent()[1].public_base_url)
    return http.html_response(
        status, pages.form(pages.FormPage(action, token, error=error, **fields)), [cookie]
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


def _submit(action: str) -> Response[str]:
    try:
        params = _form()
        cookie = csrf.cookie_value(app.current_event.headers, CSRF_COOKIE)
        if not csrf.same_origin(app.current_event.headers, wiring.web_consent()[1].public_base_url):
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


@app.get("/sms/opt-out", responses=PAGE_ANSWERS)
def opt_out_page() -> Response[str]:
    """The opt-out page (HTML).
    With `?token=` from a link, one step; with `?org=`, a form where a person types their number and
    then a code texted to it."""
    return _show("opt-out")


@app.get("/sms/opt-in", responses=PAGE_ANSWERS)
def opt_in_page() -> Response[str]:
    """The opt-in page (HTML), from a signed link's `?token=`."""
    return _show("opt-in")


@app.post("/sms/opt-out", responses=PAGE_ANSWERS)
def opt_out_submit() -> Response[str]:
    """Submit the opt-out form (HTML; CSRF-protected, same-origin)."""
    return _submit("opt-out")


@app.post("/sms/opt-in", responses=PAGE_ANSWERS)
def opt_in_submit() -> Response[str]:
    """Submit the opt-in form (HTML; CSRF-protected, same-origin)."""
    return _submit("opt-in")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return http.handle(app, event, context)


gc.enable()  # loaded: what loading made lives as long as the environment, so collecting it was waste

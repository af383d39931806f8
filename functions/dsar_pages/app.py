"""Data-subject requests, public side (no login): a person files a request, confirms it (with the
code texted to a phone they named) and downloads the export; and the compliance console's static
files (it signs in with a bearer token and calls the staff API). Thin: parse, call, render."""

from __future__ import annotations

import gc

gc.disable()  # no garbage collection while the function loads (ADR 0013); enabled again at the end

import contextlib
from http import HTTPStatus
from pathlib import Path
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from callproof import bodies, csrf, html_pages, http, wiring
from callproof.dsar import pages, request_form
from callproof.dsar.api import PublicRequestAccepted, PublicRequestIn
from callproof.dsar.model import Status
from callproof.dsar.public import PublicRequests
from callproof.errors import DomainError, Forbidden
from callproof.observability import logger, metrics, tracer

app = http.resolver(  # and JSON requests
    media_types={("POST", "/privacy/confirm"): bodies.FORM, ("POST", "/privacy"): bodies.FORM}
)
CONSOLE = Path(__file__).parent / "console"
CSRF_COOKIE = "privacy_csrf"
FORM_ANSWERS = http.page_answers(content_types.TEXT_HTML, 200, 422, 429, 503)
FILED_ANSWERS = http.page_answers(content_types.TEXT_HTML, 200, 403, 404, 409, 422, 429, 503)


def service() -> PublicRequests:
    return wiring.dsar()[1]


@app.post("/privacy/requests", status_code=HTTPStatus.ACCEPTED)
def public_request(body: PublicRequestIn) -> PublicRequestAccepted:
    """File a privacy request, no login needed.

    The request waits for the confirmation link emailed to ``email``; a phone number it names reaches
    its data only with the code texted to that number. The answer is the same whether or not
    the email or the number is held, so it reveals nothing about who is a customer."""
    service().public_request(body, http.client_address(app))
    metrics.add_metric(name="DsarPublicRequests", unit="Count", value=1)
    return PublicRequestAccepted(
        status=Status.PENDING_CONFIRMATION,
        message="Check your email to confirm the request. If you gave a phone number, enter the "
        "code we texted it on the confirmation page.",
    )


@app.get("/privacy", responses=FORM_ANSWERS)
def request_page() -> Response[str]:
    """The privacy request form (HTML, no script): names the company by its slug or published name."""
    return _form_page()


@app.post("/privacy", responses=FILED_ANSWERS)
def request_submit() -> Response[str]:
    """Submit the request form (CSRF-protected, same-origin): files the request as
    ``POST /privacy/requests`` does; refused input shows the form again with the reason."""
    headers = app.current_event.headers
    try:
        form = dict(http.form_pairs(app, 20))
        if not csrf.same_origin(headers, wiring.dsar()[2].public_base_url):
            raise Forbidden("cross-site form post")
        service().check_csrf(csrf.cookie_value(headers, CSRF_COOKIE), form.get("csrf"))
    except csrf.FormExpired as error:
        return _form_page(request_form.FormState(error=error.message), 403)
    except DomainError as error:
        return _page(int(http.status_for(error)), request_form.problem(error.message))
    values = request_form.read(form)
    try:
        body = request_form.request_in(service().find_org(values.get("org", "")), values)
        request = service().public_request(body, http.client_address(app))
    except ValidationError as error:
        return _form_page(request_form.FormState(values, *request_form.refusal(error)), 422)
    except DomainError as error:
        if error.field is None:
            return _page(int(http.status_for(error)), request_form.problem(error.message))
        state = request_form.FormState(values, error.message, error.field)
        return _form_page(state, int(http.status_for(error)))
    metrics.add_metric(name="DsarPublicRequests", unit="Count", value=1)
    return _page(200, request_form.filed(request.identifiers.phone is not None))


def _form_page(state: request_form.FormState | None = None, status: int = 200) -> Response[str]:
    nonce, field = service().new_csrf()
    cookie = csrf.cookie(CSRF_COOKIE, nonce, wiring.dsar()[2].public_base_url)
    return http.html_response(status, request_form.page(field, state), [cookie])


def _page(status: int, document: str) -> Response[str]:
    return http.html_response(status, document)


def _problem(error: DomainError) -> Response[str]:
    return _page(int(http.status_for(error)), pages.problem(error.message))


@app.get("/privacy/confirm", include_in_schema=False)
def confirm_page(token: Annotated[str, Query(max_length=1024)] = "") -> Response[str]:
    """GET changes nothing (mail scanners follow links): it asks the person to confirm."""
    try:
        request = service().pending(token)
    except DomainError as error:
        return _problem(error)
    return _page(200, pages.confirm(request, token))


@app.post("/privacy/confirm", include_in_schema=False)
def confirm(token: Annotated[str, Query(max_length=1024)] = "") -> Response[str]:
    """Confirms once; a ``code`` field proves the phone first (a wrong code confirms nothing). The
    page's second button (field ``resend``) texts a new code instead (limited per client and number)."""
    try:
        form = dict(http.form_pairs(app, 10))
        if "resend" in form:
            request = service().send_code(token, http.client_address(app))
            notice = "If the number can receive our texts, a new code is on its way."
            return _page(200, pages.confirm(request, token, notice=notice))
        request = service().confirm(token, form.get("code", "").strip() or None)
    except DomainError as error:
        return _refused(token, error)
    metrics.add_metric(name="DsarConfirmed", unit="Count", value=1)
    return _page(200, pages.confirmed(request))


def _refused(token: str, error: DomainError) -> Response[str]:
    """A wrong code shows the form again with the reason; anything else, the problem page."""
    status = int(http.status_for(error))
    if error.field == "code":
        with contextlib.suppress(DomainError):
            return _page(status, pages.confirm(service().pending(token), token, error=error.message))
    return _page(status, pages.problem(error.message))


@app.get("/privacy/download", include_in_schema=False)
def public_download(token: Annotated[str, Query(max_length=1024)] = "") -> Response[str]:
    """The emailed link (valid 7 days) answers with a short-lived presigned URL of the archive."""
    try:
        url = service().public_download(token)
    except DomainError as error:
        return _problem(error)
    return Response(
        HTTPStatus.FOUND, content_types.TEXT_HTML, "", headers={"Location": url, "Cache-Control": "no-store"}
    )


# ------------------------------------------------------------------------------------ console
CONSOLE_HEADERS = {
    **html_pages.SECURITY_HEADERS,
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self' 'unsafe-inline'; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
}


@app.get("/console", include_in_schema=False)
def console() -> Response[str]:
    """The compliance console (static; it signs in with a bearer token and calls the API)."""
    return Response(
        200,
        html_pages.CONTENT_TYPE,
        (CONSOLE / "index.html").read_text(encoding="utf-8"),
        headers=CONSOLE_HEADERS,
    )


@app.get("/console/app.js", include_in_schema=False)
def console_script() -> Response[str]:
    return Response(
        200,
        "text/javascript; charset=utf-8",
        (CONSOLE / "app.js").read_text(encoding="utf-8"),
        headers=CONSOLE_HEADERS,
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return http.handle(app, event, context)


gc.enable()  # loaded: what loading made lives as long as the environment, so collecting it was waste

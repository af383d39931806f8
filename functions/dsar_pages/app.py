"""Data-subject requests, public side (no login): a person files a request, confirms it (with the
code texted to a phone they named) and downloads the export; and the compliance console's static
files (it signs in with a bearer token and calls the staff API). Thin: parse, call, render."""

from __future__ import annotations

import contextlib
from http import HTTPStatus
from pathlib import Path
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from callproof import bodies, html_pages, http, wiring
from callproof.dsar import pages
from callproof.dsar.api import PublicRequestAccepted, PublicRequestIn
from callproof.dsar.model import Status
from callproof.dsar.public import PublicRequests
from callproof.errors import DomainError
from callproof.observability import logger, metrics, tracer

app = http.resolver(media_types={("POST", "/privacy/confirm"): bodies.FORM})  # and JSON requests
CONSOLE = Path(__file__).parent / "console"


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

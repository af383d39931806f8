"""Data-subject requests: the compliance staff's API and console, and the public request, confirmation
and download links. Thin: parse, call ``DsarService``, map the result."""

from __future__ import annotations

from datetime import UTC, date, datetime
from html import escape
from http import HTTPStatus
from pathlib import Path
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from callproof import html_pages, http, wiring
from callproof.contacts.model import ContactOut, ContactPatch
from callproof.dsar.model import (
    CancelIn,
    DownloadOut,
    DsarRequest,
    ExtendIn,
    PublicRequestIn,
    RequestIn,
    RequestOut,
    RequestPage,
    RequestSummaryOut,
    RequestType,
    Status,
)
from callproof.dsar.service import DsarService
from callproof.errors import DomainError
from callproof.observability import logger, metrics, tracer

app = http.resolver()
CONSOLE = Path(__file__).parent / "console"
REQUEST_ID = r"^[A-Za-z0-9_-]{1,64}$"


def service() -> DsarService:
    return wiring.dsar()[0]


def detail(request: DsarRequest) -> RequestOut:
    return RequestOut.of(request, datetime.now(UTC).date())


# ------------------------------------------------------------------------------------ staff API
@app.post("/v1/dsar/requests")
def create_request(body: RequestIn) -> Response[RequestOut]:
    request = service().create(http.current_caller(app), body)
    metrics.add_metric(name="DsarRequestsCreated", unit="Count", value=1)
    return Response(HTTPStatus.CREATED, content_types.APPLICATION_JSON, detail(request))


@app.get("/v1/dsar/requests")
def list_requests(
    status: Status | None = None,
    due_before: date | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> RequestPage:
    items, next_cursor = service().page(http.current_caller(app), status, due_before, limit, cursor)
    return RequestPage(
        items=[RequestSummaryOut.of(r, datetime.now(UTC).date()) for r in items], next_cursor=next_cursor
    )


@app.get("/v1/dsar/requests/<request_id>")
def get_request(request_id: str) -> RequestOut:
    return detail(service().get(http.current_caller(app), request_id))


@app.post("/v1/dsar/requests/<request_id>/start")
def start_request(request_id: str) -> Response[RequestOut]:
    request = service().start(http.current_caller(app), request_id)
    return Response(HTTPStatus.ACCEPTED, content_types.APPLICATION_JSON, detail(request))


@app.post("/v1/dsar/requests/<request_id>/extend")
def extend_request(request_id: str, body: ExtendIn) -> RequestOut:
    return detail(service().extend(http.current_caller(app), request_id, body))


@app.post("/v1/dsar/requests/<request_id>/cancel")
def cancel_request(request_id: str, body: CancelIn) -> RequestOut:
    return detail(service().cancel(http.current_caller(app), request_id, body.reason))


@app.post("/v1/dsar/requests/<request_id>/retry")
def retry_request(request_id: str) -> Response[RequestOut]:
    request = service().retry(http.current_caller(app), request_id)
    return Response(HTTPStatus.ACCEPTED, content_types.APPLICATION_JSON, detail(request))


@app.patch("/v1/dsar/requests/<request_id>/contacts/<contact_id>")
def correct_contact(request_id: str, contact_id: str, body: ContactPatch) -> ContactOut:
    return ContactOut.model_validate(
        service().correct(http.current_caller(app), request_id, contact_id, body)
    )


@app.get("/v1/dsar/requests/<request_id>/download")
def download(request_id: str) -> DownloadOut:
    url, expires_at = service().download_url(http.current_caller(app), request_id)
    return DownloadOut(url=url, expires_at=expires_at)


# ------------------------------------------------------------------------------------ public
@app.post("/privacy/requests")
def public_request(body: PublicRequestIn) -> Response[dict[str, str]]:
    """No login: the request waits for the confirmation link emailed to ``email``."""
    client = str(
        (app.current_event.raw_event.get("requestContext") or {}).get("identity", {}).get("sourceIp") or ""
    )
    service().public_request(body, client)
    metrics.add_metric(name="DsarPublicRequests", unit="Count", value=1)
    return Response(
        HTTPStatus.ACCEPTED,
        content_types.APPLICATION_JSON,
        {"status": Status.PENDING_CONFIRMATION.value, "message": "Check your email to confirm the request."},
    )


TITLE = "Confirm your privacy request"
WHAT = {
    RequestType.ACCESS: "send you a copy of the data we hold about you",
    RequestType.PORTABILITY: "send a copy of your data to the recipient you named",
    RequestType.ERASURE: "delete all data we hold about you (this cannot be undone)",
    RequestType.CORRECTION: "correct the data we hold about you",
    RequestType.RESTRICTION: "restrict (or lift the restriction of) the processing of your data",
}


def _page(status: int, body: str) -> Response[str]:
    return http.html_response(status, html_pages.document(TITLE, body))


def _error_page(error: DomainError) -> Response[str]:
    return _page(int(http.status_for(error)), f'<p class="error" role="alert">{escape(error.message)}</p>')


@app.get("/privacy/confirm", include_in_schema=False)
def confirm_page(token: Annotated[str, Query(max_length=1024)] = "") -> Response[str]:
    """GET changes nothing (mail scanners follow links): it asks the person to confirm."""
    try:
        request = service().pending(token)
    except DomainError as error:
        return _error_page(error)
    return _page(
        200,
        f'<form method="post" action="confirm?token={escape(token)}">'
        f"<p>You asked us to {escape(WHAT[request.type])}.</p>"
        '<button type="submit">Confirm my request</button></form>',
    )


@app.post("/privacy/confirm", include_in_schema=False)
def confirm(token: Annotated[str, Query(max_length=1024)] = "") -> Response[str]:
    try:
        request = service().confirm(token)
    except DomainError as error:
        return _error_page(error)
    metrics.add_metric(name="DsarConfirmed", unit="Count", value=1)
    return _page(
        200,
        f'<p class="done" role="status">Thank you: your request is confirmed. We will {escape(WHAT[request.type])} '
        f"by {request.deadline.due.isoformat()} at the latest.</p>",
    )


@app.get("/privacy/download", include_in_schema=False)
def public_download(token: Annotated[str, Query(max_length=1024)] = "") -> Response[str]:
    """The emailed link (valid 7 days) answers with a short-lived presigned URL of the archive."""
    try:
        url = service().public_download(token)
    except DomainError as error:
        return _error_page(error)
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

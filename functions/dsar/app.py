"""Data-subject requests: the compliance staff's REST API. Thin: parse, call ``DsarService``, map."""

from __future__ import annotations

import gc

gc.disable()  # no garbage collection while the function loads (ADR 0013); enabled again at the end

from datetime import UTC, date, datetime
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from callproof import http, wiring, wiring_privacy
from callproof.contacts.model import ContactOut, ContactPatch
from callproof.dsar.api import (
    AnswerIn,
    CancelIn,
    DownloadOut,
    ExtendIn,
    OwnRequestOut,
    RequestIn,
    RequestOut,
    RequestPage,
    RequestSummaryOut,
    SubjectChoiceIn,
)
from callproof.dsar.model import DsarRequest, Status
from callproof.dsar.self_service import SelfService
from callproof.dsar.service import DsarService
from callproof.incidents.routes import routes as incident_routes
from callproof.observability import logger, metrics, tracer
from callproof.values import ISO_DATE

app = http.resolver(wiring.policy_gate)
app.include_router(incident_routes(wiring_privacy.incidents))  # the breach register (ADR 0020)
REQUEST_ID = r"^[A-Za-z0-9_-]{1,64}$"


def service() -> DsarService:
    return wiring.dsar()[0]


def own() -> SelfService:
    self_service = service().own
    if self_service is None:  # wiring always builds it; a test double may not
        raise RuntimeError("self-service requests are not wired")
    return self_service


def token_email() -> str | None:
    """The ID token's email claim (set by Cognito): the address of an account with no member item."""
    claims = (app.current_event.raw_event.get("requestContext") or {}).get("authorizer", {}).get("claims")
    email = claims.get("email") if isinstance(claims, dict) else None
    return email if isinstance(email, str) else None


def detail(request: DsarRequest) -> RequestOut:
    return RequestOut.of(request, datetime.now(UTC).date())


# ------------------------------------------------------------------------------------ staff API
@app.post("/v1/dsar/requests", status_code=HTTPStatus.CREATED)
def create_request(body: RequestIn) -> RequestOut:
    """File a privacy request for a subject (compliance staff), with the verification done."""
    request = service().create(http.current_caller(app), body)
    metrics.add_metric(name="DsarRequestsCreated", unit="Count", value=1)
    return detail(request)


@app.get("/v1/dsar/requests")
def list_requests(
    status: Status | None = None,
    due_before: Annotated[date, ISO_DATE] | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> RequestPage:
    """List the org's privacy requests (compliance), newest first."""
    items, next_cursor = service().page(http.current_caller(app), status, due_before, limit, cursor)
    return RequestPage(
        items=[RequestSummaryOut.of(r, datetime.now(UTC).date()) for r in items], next_cursor=next_cursor
    )


@app.get("/v1/dsar/requests/<request_id>")
def get_request(request_id: str) -> RequestOut:
    """A privacy request: status, subject, deadline, per-store progress and timeline."""
    return detail(service().get(http.current_caller(app), request_id))


@app.post("/v1/dsar/requests/<request_id>/start", status_code=HTTPStatus.ACCEPTED)
def start_request(request_id: str) -> RequestOut:
    """Start a verified request's workflow."""
    request = service().start(http.current_caller(app), request_id)
    return detail(request)


@app.post("/v1/dsar/requests/<request_id>/extend")
def extend_request(request_id: str, body: ExtendIn) -> RequestOut:
    """Extend a request's deadline within the law's limit, with a reason the subject is told."""
    return detail(service().extend(http.current_caller(app), request_id, body))


@app.post("/v1/dsar/requests/<request_id>/cancel")
def cancel_request(request_id: str, body: CancelIn) -> RequestOut:
    """Cancel a request that has not finished, with a reason."""
    return detail(service().cancel(http.current_caller(app), request_id, body.reason))


@app.post("/v1/dsar/requests/<request_id>/retry", status_code=HTTPStatus.ACCEPTED)
def retry_request(request_id: str) -> RequestOut:
    """Run a failed request's workflow again from its unfinished steps."""
    request = service().retry(http.current_caller(app), request_id)
    return detail(request)


@app.post("/v1/dsar/requests/<request_id>/subject", status_code=HTTPStatus.ACCEPTED)
def choose_subject(request_id: str, body: SubjectChoiceIn) -> RequestOut:
    """Choose the subject of a request in `needs_review`, with a reason; then it runs."""
    request = service().choose_subject(http.current_caller(app), request_id, body)
    return detail(request)


@app.patch("/v1/dsar/requests/<request_id>/contacts/<contact_id>")
def correct_contact(request_id: str, contact_id: str, body: ContactPatch) -> ContactOut:
    """Correct the subject's contact fields under a correction request (never `owner_user_id`)."""
    return ContactOut.model_validate(
        service().correct(http.current_caller(app), request_id, contact_id, body)
    )


@app.post("/v1/dsar/requests/<request_id>/investigate")
def investigate_complaint(request_id: str) -> RequestOut:
    """Start looking into a received complaint (`received` -> `investigating`)."""
    return detail(service().investigate(http.current_caller(app), request_id))


@app.post("/v1/dsar/requests/<request_id>/answer")
def answer_complaint(request_id: str, body: AnswerIn) -> RequestOut:
    """Answer a complaint in writing (outcome and steps): emailed to the person, audited; `answered`."""
    return detail(service().answer(http.current_caller(app), request_id, body))


@app.get("/v1/dsar/requests/<request_id>/download")
def download(request_id: str) -> DownloadOut:
    """A short-lived download URL for a finished access or portability export."""
    url, expires_at = service().download_url(http.current_caller(app), request_id)
    return DownloadOut(url=url, expires_at=expires_at)


# ------------------------------------------------------------------------ a member's own requests
@app.post("/v1/me/export", status_code=HTTPStatus.ACCEPTED)
def export_me() -> OwnRequestOut:
    """Export your own account data; the download link is emailed to your account's address.

    An access request about your account only: profile, photo, consents, devices and their locations,
    the calls you logged, your integrations, the mail your mailbox synced."""
    return OwnRequestOut.of(own().export(http.current_caller(app), token_email()))


@app.delete("/v1/me", status_code=HTTPStatus.ACCEPTED)
def delete_me() -> OwnRequestOut:
    """Delete your account, once you confirm it through the link emailed to you.

    The contacts you own and the calls you logged stay with the org, reassigned to an admin; the org's
    last admin is refused (409 `last_admin`)."""
    return OwnRequestOut.of(own().erase(http.current_caller(app), token_email()))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return http.handle(app, event, context)


gc.enable()  # loaded: what loading made lives as long as the environment, so collecting it was waste

"""Accounts, public pages (no login; a signed link is the only authority): the marketing-email
unsubscribe (and RFC 8058 one-click), the guardian's consent for an under-16 account, and the cookie
policy."""

from __future__ import annotations

import gc

gc.disable()  # no garbage collection while the function loads (ADR 0013); enabled again at the end

from html import escape
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from callproof import cookie_policy, html_pages, http, wiring
from callproof.errors import DomainError
from callproof.observability import logger, metrics, tracer

app = http.resolver(max_body_bytes=16 * 1024, form_bodies=True)  # one-button forms


TITLE = "Unsubscribe from marketing email"


def _page(status: int, body: str, title: str = TITLE) -> Response[str]:
    return http.html_response(status, html_pages.document(title, body))


@app.get("/email/unsubscribe", include_in_schema=False)
def unsubscribe_page(token: Annotated[str, Query(max_length=1024)] = "") -> Response[str]:
    """GET never changes anything (mail scanners follow links): it shows a one-button form."""
    try:
        wiring.consent().check_unsubscribe(token)
    except DomainError as error:
        return _page(400, f'<p class="error" role="alert">{escape(error.message)}</p>')
    return _page(
        200,
        f'<form method="post" action="unsubscribe?token={escape(token)}">'
        '<p>Stop sending me marketing email.</p><button type="submit">Unsubscribe</button></form>',
    )


@app.post("/email/unsubscribe", include_in_schema=False)
def unsubscribe(token: Annotated[str, Query(max_length=1024)] = "") -> Response[str]:
    """The form's post, and RFC 8058 one-click (``List-Unsubscribe=One-Click``) from mail clients:
    the signed token is the only authority; repeating it appends another withdrawal, harmlessly."""
    try:
        wiring.consent().unsubscribe(token)
    except DomainError as error:
        return _page(400, f'<p class="error" role="alert">{escape(error.message)}</p>')
    metrics.add_metric(name="MarketingUnsubscribes", unit="Count", value=1)
    return _page(200, '<p class="done" role="status">Done: you will get no more marketing email from us.</p>')


GUARDIAN_TITLE = "Parent or guardian consent"


@app.get("/guardian/consent", include_in_schema=False)
def guardian_page(token: Annotated[str, Query(max_length=1024)] = "") -> Response[str]:
    """GET changes nothing (mail scanners follow links): it asks the guardian to confirm."""
    try:
        record = wiring.ages().pending(token)
    except DomainError as error:
        return _page(400, f'<p class="error" role="alert">{escape(error.message)}</p>', GUARDIAN_TITLE)
    if record.guardian_consented_at is not None:
        return _page(
            200,
            '<p class="done" role="status">Your consent is already recorded. Thank you.</p>',
            GUARDIAN_TITLE,
        )
    return _page(
        200,
        f'<form method="post" action="consent?token={escape(token)}">'
        f"<p>{escape(record.guardian_name or '')}, you were named as the parent or guardian of a person under "
        "16 who signed up for CallProof. We hold their name, company, email and the data they enter "
        "in the CRM. Their account stays inactive until you agree.</p>"
        '<button type="submit">I am their parent or guardian and I consent</button></form>',
        GUARDIAN_TITLE,
    )


@app.post("/guardian/consent", include_in_schema=False)
def guardian_confirm(token: Annotated[str, Query(max_length=1024)] = "") -> Response[str]:
    try:
        wiring.ages().confirm(token)
    except DomainError as error:
        return _page(400, f'<p class="error" role="alert">{escape(error.message)}</p>', GUARDIAN_TITLE)
    metrics.add_metric(name="GuardianConsents", unit="Count", value=1)
    return _page(
        200, '<p class="done" role="status">Thank you: your consent is recorded.</p>', GUARDIAN_TITLE
    )


@app.get("/legal/cookies", responses=http.page_answers(content_types.TEXT_HTML, 200))
def cookies_page() -> Response[str]:
    """The cookie policy: every cookie the public pages set (``callproof.cookie_policy``)."""
    return http.html_response(200, cookie_policy.document())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return http.handle(app, event, context)


gc.enable()  # loaded: what loading made lives as long as the environment, so collecting it was waste

"""Gmail integration API (authenticated REST): connect (OAuth + PKCE), status, removal, the Google
Contacts import and the synced contact mail. Thin: parse, call the service, map. Google's redirect
lands in functions/gmail_callback, its pushes in functions/gmail_push; the sync runs in
functions/gmail_sync from the queue the push feeds."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from callproof import http, wiring
from callproof.mail.api import (
    AuthorizeOut,
    EmailOut,
    EmailPageOut,
    EmailSummaryOut,
    GoogleImportOut,
    IntegrationOut,
    RemovalOut,
)
from callproof.observability import logger, metrics, tracer

app = http.resolver(wiring.policy_gate)


MAX_PAGE_SIZE = 100


@app.post("/v1/integrations/google/authorize")
def authorize(contacts: Annotated[bool, Query()] = False) -> AuthorizeOut:
    """Start connecting Gmail (read-only): Google's consent URL.
    `?contacts=true` also asks for the Google Contacts read-only scope, for the import."""
    return AuthorizeOut(authorization_url=wiring.gmail()[0].authorize(http.current_caller(app), contacts))


@app.post("/v1/contacts/imports/google")
def import_google_contacts() -> GoogleImportOut:
    """Import the caller's Google Contacts with the CSV import's dedupe rules.
    Later runs read only changes; 409 `google_scope_missing` without the contacts scope."""
    result = wiring.gmail()[0].import_contacts(http.current_caller(app))
    metrics.add_metric(name="GoogleContactsImported", unit="Count", value=result.counts.get("created", 0))
    logger.info("google contacts import", extra={"counts": result.counts, "full_sync": result.full_sync})
    return GoogleImportOut(counts=result.counts, full_sync=result.full_sync, people=result.people)


@app.get("/v1/integrations/google")
def integration_status() -> IntegrationOut:
    """The caller's Gmail connection: status, last push and sync, watch expiry."""
    return IntegrationOut.model_validate(wiring.gmail()[0].status(http.current_caller(app)))


@app.delete("/v1/integrations/google")
def remove_integration(purge: Annotated[bool, Query()] = False) -> RemovalOut:
    """Disconnect Gmail: stop the watch, revoke at Google, delete the tokens.
    With `purge=true` also delete the mail synced from that mailbox."""
    result = wiring.gmail()[0].remove(http.current_caller(app), purge)
    metrics.add_metric(name="GmailRemoved", unit="Count", value=1)
    return RemovalOut.model_validate(result, from_attributes=True)


@app.get("/v1/contacts/<contact_id>/emails")
def contact_emails(
    contact_id: str,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
) -> EmailPageOut:
    """A contact's synced mail, newest first."""
    page = wiring.gmail()[0].contact_emails(http.current_caller(app), contact_id, limit, cursor)
    return EmailPageOut(
        items=[EmailSummaryOut.model_validate(e) for e in page.emails], next_cursor=page.next_cursor
    )


@app.get("/v1/emails/<email_id>")
def get_email(email_id: str) -> EmailOut:
    """One synced message: headers, subject, text, HTML and the attachments' list."""
    record, document = wiring.gmail()[0].email(http.current_caller(app), email_id)
    summary = EmailSummaryOut.model_validate(record).model_dump()
    return EmailOut(
        **summary,
        headers=[(str(n), str(v)) for n, v in document.get("headers", [])],
        text=document.get("text"),
        html=document.get("html"),
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return http.handle(app, event, context)

"""Gmail integration API (authenticated REST): connect (OAuth + PKCE), status, removal, the Google
Contacts import and the synced contact mail. Thin: parse, call the service, map. Google's redirect
lands in functions/gmail_callback, its pushes in functions/gmail_push; the sync runs in
functions/gmail_sync from the queue the push feeds."""

from __future__ import annotations

import gc

gc.disable()  # no garbage collection while the function loads (ADR 0013); enabled again at the end

from datetime import UTC, datetime
from http import HTTPStatus
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from callproof import http, wiring
from callproof.contacts.model import ImportJobOut
from callproof.mail.api import (
    AuthorizeOut,
    EmailOut,
    EmailPageOut,
    EmailSummaryOut,
    EmailThreadOut,
    IntegrationOut,
    LabelOut,
    LabelSelectionOut,
    LabelsIn,
    LabelsOut,
    RemovalOut,
)
from callproof.mail.model import EmailQuery
from callproof.observability import logger, metrics, tracer
from callproof.values import ISO_DATETIME

app = http.resolver(wiring.policy_gate)


MAX_PAGE_SIZE = 100


@app.post("/v1/integrations/google/authorize")
def authorize(contacts: Annotated[bool, Query()] = False) -> AuthorizeOut:
    """Start connecting Gmail (read-only): Google's consent URL, steered to the caller's CallProof email.
    `?contacts=true` asks instead for the Google Contacts grant alone (read-only, for the import;
    incremental when Gmail is connected)."""
    return AuthorizeOut(authorization_url=wiring.gmail()[0].authorize(http.current_caller(app), contacts))


@app.post("/v1/contacts/imports/google", status_code=HTTPStatus.ACCEPTED)
def import_google_contacts() -> ImportJobOut:
    """Import the caller's Google Contacts as a job, with the CSV import's dedupe rules.
    Needs the Google Contacts grant (`authorize?contacts=true`), never Gmail; 409
    `google_scope_missing` without it. Answers the job (`source: google`): follow it with
    `GET /v1/contacts/imports/{import_id}`. While the caller's Google import runs, another POST
    answers that job, never a second one. Later imports read only changes; contacts whose Google
    contact was deleted are marked `removed_in_google`, never deleted."""
    job, new = wiring.google_imports().start(http.current_caller(app))
    metrics.add_metric(name="GoogleContactsImportsQueued", unit="Count", value=int(new))
    logger.info("google contacts import", extra={"import_id": job.id, "queued": new})
    return ImportJobOut.of(job, None)


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


@app.get("/v1/integrations/google/labels")
def google_labels() -> LabelsOut:
    """The connected mailbox's Gmail labels (system and user) and the ones synced."""
    labels, selected = wiring.gmail()[0].labels.labels(http.current_caller(app))
    return LabelsOut(
        labels=[LabelOut(id=x.id, name=x.name, type=x.type, selected=x.id in selected) for x in labels],
        selected=list(selected),
    )


@app.put("/v1/integrations/google/labels")
def select_google_labels(
    body: Annotated[LabelsIn, Body()], purge: Annotated[bool, Query()] = False
) -> LabelSelectionOut:
    """Sync exactly these labels (the watch is renewed on them). With `purge=true`, mail that only
    the labels taken out brought leaves this mailbox (and the org when no other mailbox holds it)."""
    result = wiring.gmail()[0].labels.select(http.current_caller(app), list(body.labels), purge)
    return LabelSelectionOut(
        labels=list(result.labels), purged_emails=result.purged_emails, purged_objects=result.purged_objects
    )


def _page(page: Any) -> EmailPageOut:
    return EmailPageOut(
        items=[EmailSummaryOut.model_validate(e) for e in page.emails], next_cursor=page.next_cursor
    )


def _ms(moment: datetime | None) -> int | None:
    if moment is None:
        return None
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp() * 1000)


Address = Annotated[str | None, Query(max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")]


@app.get("/v1/emails")
def list_emails(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
    contact_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    mailbox: Annotated[Literal["me"] | None, Query(description="me: mail synced from my mailbox")] = None,
    sender: Annotated[str | None, Query(alias="from", max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")] = None,
    to: Address = None,
    q: Annotated[str | None, Query(min_length=1, max_length=200, description="words of the subject")] = None,
    after: Annotated[
        datetime | None, ISO_DATETIME, Query(description="received at or after (ISO 8601)")
    ] = None,
    before: Annotated[datetime | None, ISO_DATETIME, Query(description="received before (ISO 8601)")] = None,
) -> EmailPageOut:
    """The org's synced mail, newest first, each message once with the mailboxes that hold it."""
    caller = http.current_caller(app)
    query = EmailQuery(
        contact_id=contact_id,
        mailbox=caller.user_id if mailbox == "me" else None,
        sender=sender.strip().lower() if sender else None,
        recipient=to.strip().lower() if to else None,
        subject=" ".join(q.lower().split()) or None if q else None,
        after=_ms(after),
        before=_ms(before),
    )
    return _page(wiring.gmail()[0].reader.search(caller, query, limit, cursor))


@app.get("/v1/contacts/<contact_id>/emails")
def contact_emails(
    contact_id: str,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
) -> EmailPageOut:
    """A contact's synced mail, newest first, each message once with the mailboxes that hold it."""
    reader = wiring.gmail()[0].reader
    return _page(reader.search(http.current_caller(app), EmailQuery(contact_id=contact_id), limit, cursor))


def _email(record: Any, document: dict[str, Any]) -> EmailOut:
    return EmailOut(
        **EmailSummaryOut.model_validate(record).model_dump(),
        headers=[(str(n), str(v)) for n, v in document.get("headers", [])],
        text=document.get("text"),
        html=document.get("html"),
    )


RemoteImages = Annotated[bool, Query(description="let the HTML load remote images (tracking pixels too)")]


@app.get("/v1/emails/<email_id>")
def get_email(email_id: str, remote_images: RemoteImages = False) -> EmailOut:
    """One synced message: headers, subject, text, sanitised HTML and the attachments' list."""
    return _email(*wiring.gmail()[0].reader.email(http.current_caller(app), email_id, remote_images))


@app.get("/v1/email-threads/<thread_id>")
def email_thread(thread_id: str, remote_images: RemoteImages = False) -> EmailThreadOut:
    """A conversation across the org's mailboxes, oldest first, each message once."""
    messages = wiring.gmail()[0].reader.thread(http.current_caller(app), thread_id, remote_images)
    return EmailThreadOut(
        thread_id=thread_id, items=[_email(record, document) for record, document in messages]
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return http.handle(app, event, context)


gc.enable()  # loaded: what loading made lives as long as the environment, so collecting it was waste

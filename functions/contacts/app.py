"""Contacts REST API: CRUD, batch lookup by phone / email, CSV imports (small ones at once, large ones
through an upload and an import job). Thin: parse, call, map."""

from __future__ import annotations

import gc

gc.disable()  # no garbage collection while the function loads (ADR 0013); enabled again at the end

from dataclasses import asdict
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from callproof import bodies, http, wiring
from callproof.contacts.importer import MAX_SYNC_ROWS
from callproof.contacts.jobs import CONTENT_TYPE, MAX_UPLOAD_BYTES, UPLOAD_TTL
from callproof.contacts.model import (
    ContactIn,
    ContactOut,
    ContactPage,
    ContactPatch,
    ImportCreatedOut,
    ImportJob,
    ImportJobOut,
    ImportOut,
    ImportRowOut,
    ImportUploadOut,
    LookupIn,
    LookupOut,
)
from callproof.contacts.service import MAX_PAGE_SIZE, ContactService
from callproof.errors import PayloadTooLarge
from callproof.observability import logger, metrics, tracer

app = http.resolver(wiring.policy_gate, media_types={("POST", "/v1/contacts/imports"): bodies.CSV})


def service() -> ContactService:
    return wiring.contact_services()[0]


@app.post("/v1/contacts", status_code=HTTPStatus.CREATED)
def create_contact(body: ContactIn) -> ContactOut:
    """Create a contact; the owner defaults to the caller."""
    contact = service().create(http.current_caller(app), body)
    metrics.add_metric(name="ContactsCreated", unit="Count", value=1)
    return ContactOut.model_validate(contact)


@app.get("/v1/contacts")
def list_contacts(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    removed_in_google: Annotated[bool | None, Query()] = None,
) -> ContactPage:
    """List the org's contacts; `next_cursor` while there are more.
    `removed_in_google=true` lists only contacts whose Google contact was deleted in Google (`false`:
    only the others); a filtered page may hold fewer than `limit` items."""
    page = service().list(http.current_caller(app), limit, cursor, removed_in_google)
    return ContactPage(
        items=[ContactOut.model_validate(c) for c in page.contacts], next_cursor=page.next_cursor
    )


@app.get("/v1/contacts/<contact_id>")
def get_contact(contact_id: str) -> ContactOut:
    """Read a contact."""
    return ContactOut.model_validate(service().get(http.current_caller(app), contact_id))


@app.patch("/v1/contacts/<contact_id>")
def update_contact(contact_id: str, body: ContactPatch) -> ContactOut:
    """Change a contact (lists replace); only the owner or an admin may change `owner_user_id`."""
    return ContactOut.model_validate(service().update(http.current_caller(app), contact_id, body))


@app.delete("/v1/contacts/<contact_id>", status_code=HTTPStatus.NO_CONTENT)
def delete_contact(contact_id: str) -> Response[None]:
    """Delete a contact (its owner or an admin)."""
    service().delete(http.current_caller(app), contact_id)
    return Response(HTTPStatus.NO_CONTENT)


@app.post("/v1/contacts/lookup")
def lookup_contacts(body: LookupIn) -> LookupOut:
    """Find contacts by phone numbers and emails (up to 100 each): every contact per normalized key."""
    result = service().lookup(http.current_caller(app), body.phones, body.emails)
    return LookupOut(
        phones={key: [ContactOut.model_validate(c) for c in found] for key, found in result.phones.items()},
        emails={key: [ContactOut.model_validate(c) for c in found] for key, found in result.emails.items()},
    )


@app.post("/v1/contacts/imports")
def import_contacts() -> ImportOut:
    """Import contacts from a small CSV file.
    UTF-8 with a header row in the body, up to 1,000 rows (413 beyond: upload the file with
    `POST /v1/contacts/imports/uploads`); answers one result per data row, by file line. Duplicates (by
    email or phone) are merged, never created twice."""
    importer = wiring.contact_services()[1]
    report = importer.run(http.current_caller(app), http.body_text(app), MAX_SYNC_ROWS, PayloadTooLarge)
    metrics.add_metric(name="ContactsImportRows", unit="Count", value=len(report.rows))
    logger.info("contacts import finished", extra={"counts": report.counts()})
    return ImportOut(
        counts=report.counts(),
        ignored_columns=report.ignored_columns,
        rows=[ImportRowOut.model_validate(asdict(row)) for row in report.rows],
    )


@app.post("/v1/contacts/imports/uploads", status_code=HTTPStatus.CREATED)
def create_import_upload() -> ImportCreatedOut:
    """Start a large CSV import: a presigned upload.
    POST the `fields` and then the file (`file`, `text/csv`, up to 100 MB) to `upload.url` within 15
    minutes, then call `POST /v1/contacts/imports/{import_id}/start`."""
    job, url, fields = wiring.contact_imports().create(http.current_caller(app))
    upload = ImportUploadOut(
        url=url,
        fields=fields,
        expires_at=job.created_at + UPLOAD_TTL,
        max_bytes=MAX_UPLOAD_BYTES,
        content_type=CONTENT_TYPE,
    )
    return ImportCreatedOut(**_job_out(job, None).model_dump(), upload=upload)


@app.post("/v1/contacts/imports/<import_id>/start", status_code=HTTPStatus.ACCEPTED)
def start_import(import_id: str) -> ImportJobOut:
    """Queue an uploaded CSV import.
    409 while no file is uploaded; starting a started import changes nothing."""
    job = wiring.contact_imports().start(http.current_caller(app), import_id)
    return _job_out(job, None)


@app.get("/v1/contacts/imports/<import_id>")
def get_import(import_id: str) -> ImportJobOut:
    """Follow an import (a CSV file's or, `source: google`, Google Contacts'): status, rows done, counts.
    Once it is over and rows were rejected, `errors_url` downloads them as CSV (line, status, field,
    reason) for 15 minutes."""
    job, errors_url = wiring.contact_imports().get(http.current_caller(app), import_id)
    return _job_out(job, errors_url)


def _job_out(job: ImportJob, errors_url: str | None) -> ImportJobOut:
    return ImportJobOut.of(job, errors_url)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return http.handle(app, event, context)


gc.enable()  # loaded: what loading made lives as long as the environment, so collecting it was waste

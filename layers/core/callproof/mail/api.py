"""Request / response models of the Gmail HTTP API (they also make the OpenAPI document)."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from callproof.models import Model


class AuthorizeOut(Model):
    authorization_url: str


class IntegrationOut(Model):
    model_config = ConfigDict(from_attributes=True)

    mailbox: str
    status: str = Field(description="active, disconnected (reconnect: Google refused the grant) or lapsed")
    status_reason: str | None = None
    connected_at: str
    last_push_at: str | None = None
    last_sync_at: str | None = None
    watch_expiration: int = Field(description="epoch milliseconds")


class ConnectedOut(Model):
    status: str
    user_id: str


class RemovalOut(Model):
    stopped: bool = Field(description="users.stop succeeded at Google")
    revoked: bool = Field(description="the grant was revoked at Google")
    purged_emails: int
    purged_objects: int


class AttachmentOut(Model):
    model_config = ConfigDict(from_attributes=True)

    filename: str
    size: int
    content_type: str


class EmailSummaryOut(Model):
    model_config = ConfigDict(from_attributes=True)

    email_id: str
    user_id: str = Field(description="the mailbox owner it was synced from")
    thread_id: str
    internal_date: int = Field(description="epoch milliseconds (Gmail's internalDate)")
    subject: str
    sender: str
    contact_ids: list[str]
    attachments: list[AttachmentOut]


class EmailPageOut(Model):
    items: list[EmailSummaryOut]
    next_cursor: str | None


class EmailOut(EmailSummaryOut):
    headers: list[tuple[str, str]]
    text: str | None
    html: str | None


class GoogleImportOut(Model):
    counts: dict[str, int] = Field(
        description="rows created / updated / duplicate / rejected, as the CSV import"
    )
    full_sync: bool = Field(
        description="every contact was read (first run, or Google expired the sync token)"
    )
    people: int = Field(description="records Google returned (deleted ones are never applied)")

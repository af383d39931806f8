"""Request / response models of the Gmail HTTP API (they also make the OpenAPI document)."""

from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints

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
    grant: str = Field(default="gmail", description="what was connected: `gmail` or `contacts`")


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

    email_id: str = Field(description="the message, once per org (its Message-ID's hash)")
    user_id: str = Field(description="the mailbox that synced it first")
    mailboxes: list[str] = Field(description="the users whose mailbox holds it")
    thread_id: str = Field(description="the conversation across mailboxes: GET /v1/email-threads/{thread_id}")
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
    html: str | None = Field(
        description="sanitised: no script, style or form; links rel=noopener; remote images only with "
        "remote_images=true"
    )


class EmailThreadOut(Model):
    thread_id: str
    items: list[EmailOut] = Field(description="oldest first, each message once")


LabelId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_\-]+$")]


class LabelOut(Model):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    type: str = Field(description="system or user")
    selected: bool


class LabelsOut(Model):
    labels: list[LabelOut]
    selected: list[str] = Field(description="the label ids synced (INBOX and SENT until chosen)")


class LabelsIn(Model):
    model_config = ConfigDict(extra="forbid")

    labels: list[LabelId] = Field(min_length=1, max_length=50, description="Gmail label ids to sync")


class LabelSelectionOut(Model):
    labels: list[str]
    purged_emails: int = Field(description="messages taken out of this mailbox (purge=true)")
    purged_objects: int = Field(description="stored bodies deleted: no other mailbox held them")

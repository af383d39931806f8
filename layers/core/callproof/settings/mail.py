"""Settings of the Gmail functions."""

from pydantic import Field

from callproof.settings.contacts import GoogleContactsSettings


class GmailSettings(GoogleContactsSettings):
    """The Gmail functions (HTTP API and sync worker)."""

    data_bucket: str = Field(alias="DATA_BUCKET", min_length=3)
    sync_queue_url: str = Field(alias="GMAIL_SYNC_QUEUE_URL", pattern=r"^https?://\S+$")
    topic: str = Field(
        alias="GMAIL_PUBSUB_TOPIC", max_length=300, pattern=r"^projects/[a-z][a-z0-9-]+/topics/[\w.~%+-]+$"
    )
    # What the push subscription's OIDC token must carry; unset audience: every push is refused (403).
    push_audience: str | None = Field(default=None, alias="GMAIL_PUSH_AUDIENCE", min_length=1)
    push_service_account: str = Field(alias="GMAIL_PUSH_SERVICE_ACCOUNT", pattern=r"^[^@\s]+@[^@\s]+$")
    full_sync_days: int = Field(default=30, alias="GMAIL_FULL_SYNC_DAYS", ge=1, le=365)
    # Set only by the local stack: the push-token certificates are the local Google double's.
    google_certs_url: str | None = Field(
        default=None, alias="GOOGLE_CERTS_URL", pattern=r"^http://127\.0\.0\.1:\d+/\S*$"
    )

"""Settings of the contacts functions and the contact import worker, the Google Contacts grant included."""

from pydantic import Field

from callproof.config import LOCAL_URL, Settings


class ContactsSettings(Settings):
    contacts_table: str = Field(alias="CONTACTS_TABLE", min_length=3)
    default_phone_region: str = Field(alias="DEFAULT_PHONE_REGION", pattern=r"^[A-Z]{2}$")
    suppression_secret_arn: str = Field(alias="SUPPRESSION_SECRET_ARN", min_length=3)  # erasure HMAC key


class ContactImportSettings(ContactsSettings):
    """Large CSV imports: uploads in the data bucket, runs on the import queue."""

    data_bucket: str = Field(alias="DATA_BUCKET", min_length=3)
    data_key_id: str = Field(alias="DATA_KEY_ID", min_length=1)  # SSE-KMS of the rejected-rows files
    import_queue_url: str = Field(alias="CONTACT_IMPORT_QUEUE_URL", pattern=r"^https?://\S+$")


class GoogleContactsSettings(Settings):
    """The Google Contacts grant and its People API reads (the Gmail functions, and the contact
    import worker that runs Google Contacts imports)."""

    mail_table: str = Field(alias="MAIL_TABLE", min_length=3)
    contacts_table: str = Field(alias="CONTACTS_TABLE", min_length=3)
    data_key_id: str = Field(alias="DATA_KEY_ID", min_length=1)  # KMS key of the token envelopes
    oauth_secret_arn: str = Field(alias="GOOGLE_OAUTH_SECRET_ARN", min_length=3)  # client_id, client_secret
    # The OAuth callback URL registered with Google (the API's public base + /oauth/google/callback).
    # Unset: connecting answers 409 (not configured).
    redirect_uri: str | None = Field(
        default=None, alias="GOOGLE_OAUTH_REDIRECT_URI", pattern=r"^https?://\S+$"
    )
    # Set only by the local stack: Google's APIs and OAuth endpoints are the local Google double's.
    google_api_base_url: str | None = Field(default=None, alias="GOOGLE_API_BASE_URL", pattern=LOCAL_URL)
    google_oauth_base_url: str | None = Field(default=None, alias="GOOGLE_OAUTH_BASE_URL", pattern=LOCAL_URL)


class GoogleImportSettings(ContactImportSettings, GoogleContactsSettings):
    """Google Contacts imports as jobs (ADR 0014): queued by the Gmail API function, run by the
    contact import worker on the import queue."""

"""Settings of the calendars functions."""

from pydantic import Field

from callproof.config import LOCAL_URL, Settings


class CalendarSettings(Settings):
    """The calendars function (Google Calendar and Office 365)."""

    mail_table: str = Field(alias="MAIL_TABLE", min_length=3)  # connections, selection, OAuth states
    contacts_table: str = Field(alias="CONTACTS_TABLE", min_length=3)  # attendees' addresses
    data_key_id: str = Field(alias="DATA_KEY_ID", min_length=1)  # KMS key of the token envelopes
    google_oauth_secret_arn: str = Field(alias="GOOGLE_OAUTH_SECRET_ARN", min_length=3)
    microsoft_oauth_secret_arn: str = Field(alias="MICROSOFT_OAUTH_SECRET_ARN", min_length=3)
    # The API's public base (stage included); the callbacks registered with Google and Microsoft are
    # <base>/oauth/google/calendar/callback and <base>/oauth/microsoft/calendar/callback. Unset:
    # connecting answers 409 (not configured).
    public_base_url: str | None = Field(
        default=None, alias="CALENDAR_PUBLIC_BASE_URL", pattern=r"^https?://[^\s?#]+$"
    )
    # Set only by the local stack: the local Google and Microsoft doubles.
    google_api_base_url: str | None = Field(default=None, alias="GOOGLE_API_BASE_URL", pattern=LOCAL_URL)
    google_oauth_base_url: str | None = Field(default=None, alias="GOOGLE_OAUTH_BASE_URL", pattern=LOCAL_URL)
    microsoft_base_url: str | None = Field(default=None, alias="MICROSOFT_BASE_URL", pattern=LOCAL_URL)

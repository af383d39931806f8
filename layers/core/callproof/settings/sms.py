"""Settings of the SMS functions."""

from pydantic import Field

from callproof.config import Settings


class SmsSettings(Settings):
    sms_table: str = Field(alias="SMS_TABLE", min_length=3)
    contacts_table: str = Field(alias="CONTACTS_TABLE", min_length=3)
    default_phone_region: str = Field(alias="DEFAULT_PHONE_REGION", pattern=r"^[A-Z]{2}$")
    twilio_secret_arn: str = Field(alias="TWILIO_SECRET_ARN", min_length=3)
    link_secret_arn: str = Field(alias="SMS_LINK_SECRET_ARN", min_length=3)
    suppression_secret_arn: str = Field(alias="SUPPRESSION_SECRET_ARN", min_length=3)  # erasure HMAC key
    daily_cap: int = Field(alias="SMS_DAILY_CAP", ge=0, le=1_000_000)
    # The URL Twilio calls us on (the API's public base, stage included). Unset: every webhook is
    # refused with 403, because a signature can only be checked against the URL Twilio signed.
    public_base_url: str | None = Field(
        default=None, alias="SMS_PUBLIC_BASE_URL", pattern=r"^https?://[^\s?#]+$"
    )
    # Set only by the local stack: where the Twilio client sends REST calls (the local double).
    twilio_api_base_url: str | None = Field(
        default=None, alias="TWILIO_API_BASE_URL", pattern=r"^http://127\.0\.0\.1:\d+$"
    )

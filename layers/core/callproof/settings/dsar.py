"""Settings of the data-subject request functions, the privacy mailbox and the breach register."""

from pydantic import Field

from callproof.config import LOCAL_URL, Settings


class DsarSettings(Settings):
    """The data-subject request API (staff and public routes) and its schedule."""

    dsar_table: str = Field(alias="DSAR_TABLE", min_length=3)
    contacts_table: str = Field(alias="CONTACTS_TABLE", min_length=3)  # resolving subjects, corrections
    accounts_table: str = Field(alias="ACCOUNTS_TABLE", min_length=3)
    default_phone_region: str = Field(alias="DEFAULT_PHONE_REGION", pattern=r"^[A-Z]{2}$")
    exports_bucket: str = Field(alias="EXPORTS_BUCKET", min_length=3)
    link_secret_arn: str = Field(alias="DSAR_LINK_SECRET_ARN", min_length=3)  # confirmation, download
    mail_sender: str = Field(alias="DSAR_MAIL_SENDER", pattern=r"^[^@\s]+@[^@\s]+$")
    export_machine_arn: str = Field(alias="EXPORT_STATE_MACHINE_ARN", min_length=3)
    erasure_machine_arn: str = Field(alias="ERASURE_STATE_MACHINE_ARN", min_length=3)
    # The API's public base (stage included): the emailed confirmation and download links point here.
    # Unset: requests that need an emailed link (public ones, erasures) answer 409 (not configured).
    public_base_url: str | None = Field(
        default=None, alias="DSAR_PUBLIC_BASE_URL", pattern=r"^https?://[^\s?#]+$"
    )
    # Public requests accepted per client address and per org within an hour.
    public_rate_per_hour: int = Field(default=5, alias="DSAR_PUBLIC_RATE_PER_HOUR", ge=1, le=10_000)
    # Days from receipt within which a complaint is answered in writing (extendable once by as many).
    complaint_days: int = Field(default=30, alias="DSAR_COMPLAINT_DAYS", ge=1, le=90)
    # Phone codes: texted from the org's Twilio sender, stored (hashed) in the SMS table.
    sms_table: str = Field(alias="SMS_TABLE", min_length=3)
    twilio_secret_arn: str = Field(alias="TWILIO_SECRET_ARN", min_length=3)
    sms_link_secret_arn: str = Field(alias="SMS_LINK_SECRET_ARN", min_length=3)  # key of code hashes
    suppression_secret_arn: str = Field(alias="SUPPRESSION_SECRET_ARN", min_length=3)  # erased: no texts
    twilio_api_base_url: str | None = Field(
        default=None, alias="TWILIO_API_BASE_URL", pattern=r"^http://127\.0\.0\.1:\d+$"
    )


class PrivacyInboxSettings(DsarSettings):
    """The privacy mailbox: mail SES stored for the privacy address is filed as requests."""

    inbound_bucket: str = Field(alias="INBOUND_MAIL_BUCKET", min_length=3)
    inbound_prefix: str = Field(alias="INBOUND_MAIL_PREFIX", pattern=r"^[a-z0-9/-]{0,64}$")
    privacy_address: str = Field(alias="PRIVACY_ADDRESS", pattern=r"^[^@\s+]+@[^@\s]+$")
    user_pool_id: str = Field(alias="USER_POOL_ID", min_length=1)  # members, for mail naming no org


class DsarDeadlineSettings(Settings):
    dsar_table: str = Field(alias="DSAR_TABLE", min_length=3)


class IncidentSettings(Settings):
    """The breach register (``functions/dsar``): incidents in the DSAR table, who they affect read from
    the accounts and contacts tables, members emailed from the DSAR sender."""

    dsar_table: str = Field(alias="DSAR_TABLE", min_length=3)
    contacts_table: str = Field(alias="CONTACTS_TABLE", min_length=3)
    accounts_table: str = Field(alias="ACCOUNTS_TABLE", min_length=3)
    mail_sender: str = Field(alias="DSAR_MAIL_SENDER", pattern=r"^[^@\s]+@[^@\s]+$")
    # The operator's own org: only its compliance staff record incidents naming other orgs (ADR 0020).
    # Unset: every incident names only the recording org.
    operator_org_id: str | None = Field(
        default=None, alias="OPERATOR_ORG_ID", pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
    )


class DsarTaskSettings(Settings):
    """The workflow tasks: every store of personal data is optional (an undeployed store is absent)."""

    dsar_table: str = Field(alias="DSAR_TABLE", min_length=3)
    exports_bucket: str = Field(alias="EXPORTS_BUCKET", min_length=3)
    data_key_id: str = Field(alias="DATA_KEY_ID", min_length=1)
    default_phone_region: str = Field(alias="DEFAULT_PHONE_REGION", pattern=r"^[A-Z]{2}$")
    suppression_secret_arn: str = Field(alias="SUPPRESSION_SECRET_ARN", min_length=3)
    link_secret_arn: str = Field(alias="DSAR_LINK_SECRET_ARN", min_length=3)
    mail_sender: str = Field(alias="DSAR_MAIL_SENDER", pattern=r"^[^@\s]+@[^@\s]+$")
    public_base_url: str | None = Field(
        default=None, alias="DSAR_PUBLIC_BASE_URL", pattern=r"^https?://[^\s?#]+$"
    )
    contacts_table: str = Field(alias="CONTACTS_TABLE", min_length=3)  # subjects are resolved by contacts
    call_logs_table: str | None = Field(default=None, alias="CALL_LOGS_TABLE", min_length=3)
    sms_table: str | None = Field(default=None, alias="SMS_TABLE", min_length=3)
    mail_table: str | None = Field(default=None, alias="MAIL_TABLE", min_length=3)
    accounts_table: str | None = Field(default=None, alias="ACCOUNTS_TABLE", min_length=3)
    data_bucket: str | None = Field(default=None, alias="DATA_BUCKET", min_length=3)
    user_pool_id: str | None = Field(default=None, alias="USER_POOL_ID", min_length=3)
    google_oauth_secret_arn: str | None = Field(default=None, alias="GOOGLE_OAUTH_SECRET_ARN", min_length=3)
    # Set only by the local stack: Google's revoke endpoint is the local double's.
    google_oauth_base_url: str | None = Field(default=None, alias="GOOGLE_OAUTH_BASE_URL", pattern=LOCAL_URL)
    # Set only by the local stack: the Gmail API (stopping a watch on disconnect) is the local double's.
    google_api_base_url: str | None = Field(default=None, alias="GOOGLE_API_BASE_URL", pattern=LOCAL_URL)

"""Settings of the accounts function and the member sweep (members, consent, offboarding)."""

from pydantic import Field

from callproof.config import LOCAL_URL, Settings


class AccountsSettings(Settings):
    accounts_table: str = Field(alias="ACCOUNTS_TABLE", min_length=3)
    contacts_table: str = Field(alias="CONTACTS_TABLE", min_length=3)
    sms_table: str = Field(alias="SMS_TABLE", min_length=3)
    user_pool_id: str = Field(alias="USER_POOL_ID", min_length=1)
    link_secret_arn: str = Field(alias="ACCOUNTS_LINK_SECRET_ARN", min_length=3)
    data_bucket: str = Field(alias="DATA_BUCKET", min_length=3)  # account photos
    mail_from: str = Field(alias="ACCOUNTS_MAIL_FROM", pattern=r"^[^@\s]+@[^@\s]+$")  # SES identity
    # Where the marketing-email unsubscribe links point (the API's public base, stage included).
    public_base_url: str | None = Field(
        default=None, alias="ACCOUNTS_PUBLIC_BASE_URL", pattern=r"^https?://[^\s?#]+$"
    )


class MemberSweepSettings(Settings):
    """The daily member sweep (ADR 0023): removed members' Cognito users, account items and photos,
    and the audit trail in DsarTable."""

    accounts_table: str = Field(alias="ACCOUNTS_TABLE", min_length=3)
    dsar_table: str = Field(alias="DSAR_TABLE", min_length=3)  # the audit trail
    data_bucket: str = Field(alias="DATA_BUCKET", min_length=3)  # account photos
    user_pool_id: str = Field(alias="USER_POOL_ID", min_length=1)


class OffboardingSettings(MemberSweepSettings):
    """Removing a member (the accounts function): what the removal reaches besides the member item
    (integrations on MailTable, devices and calls, contacts and the org's grace period)."""

    contacts_table: str = Field(alias="CONTACTS_TABLE", min_length=3)  # org settings; contacts reassigned
    call_logs_table: str = Field(alias="CALL_LOGS_TABLE", min_length=3)  # devices; calls reassigned
    mail_table: str = Field(alias="MAIL_TABLE", min_length=3)  # Gmail, Google Contacts, calendar grants
    data_key_id: str = Field(alias="DATA_KEY_ID", min_length=1)  # KMS key of the token envelopes
    google_oauth_secret_arn: str | None = Field(default=None, alias="GOOGLE_OAUTH_SECRET_ARN", min_length=3)
    # Set only by the local stack: Google's revoke endpoint and the Gmail API are the local doubles.
    google_oauth_base_url: str | None = Field(default=None, alias="GOOGLE_OAUTH_BASE_URL", pattern=LOCAL_URL)
    google_api_base_url: str | None = Field(default=None, alias="GOOGLE_API_BASE_URL", pattern=LOCAL_URL)


class ConsentEffectsSettings(Settings):
    """The accounts REST function's consent routes: withdrawing ``geolocation`` erases the device
    locations kept in the call-logs table."""

    call_logs_table: str = Field(alias="CALL_LOGS_TABLE", min_length=3)

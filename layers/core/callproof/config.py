"""Per-function settings: pydantic models read from the environment, validated on first use.

Each function declares a settings model whose field aliases are environment variable names. A missing
or bad setting raises ``ConfigurationError`` naming the variable, the first time the settings are read
(never at import time). The local stack runs every function in one process, so it overlays each
function's own environment with ``function_environment`` while that function runs.
"""

from __future__ import annotations

import contextvars
import os
from collections import ChainMap
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

_overlay: contextvars.ContextVar[Mapping[str, str]] = contextvars.ContextVar(
    "callproof_env", default=MappingProxyType({})
)
_cache: dict[tuple[type[BaseModel], tuple[tuple[str, str], ...]], BaseModel] = {}

SettingsT = TypeVar("SettingsT", bound="Settings")


class ConfigurationError(RuntimeError):
    """A required setting is missing or invalid."""


class Settings(BaseModel):
    """Base for function settings: fields are read by their alias (the environment variable name)."""

    # defer_build: a function validates one or two of these; building all at import costs its cold start
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=False, defer_build=True)


class ContactsSettings(Settings):
    contacts_table: str = Field(alias="CONTACTS_TABLE", min_length=3)
    default_phone_region: str = Field(alias="DEFAULT_PHONE_REGION", pattern=r"^[A-Z]{2}$")
    suppression_secret_arn: str = Field(alias="SUPPRESSION_SECRET_ARN", min_length=3)  # erasure HMAC key


class ContactImportSettings(ContactsSettings):
    """Large CSV imports: uploads in the data bucket, runs on the import queue."""

    data_bucket: str = Field(alias="DATA_BUCKET", min_length=3)
    data_key_id: str = Field(alias="DATA_KEY_ID", min_length=1)  # SSE-KMS of the rejected-rows files
    import_queue_url: str = Field(alias="CONTACT_IMPORT_QUEUE_URL", pattern=r"^https?://\S+$")


class CallLogsSettings(Settings):
    call_logs_table: str = Field(alias="CALL_LOGS_TABLE", min_length=3)
    contacts_table: str = Field(alias="CONTACTS_TABLE", min_length=3)
    default_phone_region: str = Field(alias="DEFAULT_PHONE_REGION", pattern=r"^[A-Z]{2}$")


class RetentionSettings(Settings):
    """The daily retention purge (``RetentionService``): the tables of the stores it purges, the org
    settings item (contacts table) that holds each org's periods, and the audit chain (DSAR table)."""

    call_logs_table: str = Field(alias="CALL_LOGS_TABLE", min_length=3)
    contacts_table: str = Field(alias="CONTACTS_TABLE", min_length=3)
    dsar_table: str = Field(alias="DSAR_TABLE", min_length=3)
    mail_table: str = Field(alias="MAIL_TABLE", min_length=3)
    sms_table: str = Field(alias="SMS_TABLE", min_length=3)
    data_bucket: str = Field(alias="DATA_BUCKET", min_length=3)
    exports_bucket: str = Field(alias="EXPORTS_BUCKET", min_length=3)
    default_phone_region: str = Field(alias="DEFAULT_PHONE_REGION", pattern=r"^[A-Z]{2}$")


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


class PolicyGateSettings(Settings):
    """Read by every authenticated REST function (``callproof.http``'s policy-consent check)."""

    accounts_table: str = Field(alias="ACCOUNTS_TABLE", min_length=3)
    # How long an environment trusts its copy of the current policy (a new significant version is
    # enforced within this); the e2e tests set 0.
    policy_cache_seconds: float = Field(default=60.0, alias="POLICY_CACHE_SECONDS", ge=0, le=300)


class IdempotencySettings(Settings):
    """Read by the functions serving creates, on the first one sent with an ``Idempotency-Key``
    (``callproof.idempotency``)."""

    idempotency_table: str = Field(alias="IDEMPOTENCY_TABLE", min_length=3)


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


_LOCAL_URL = r"^http://127\.0\.0\.1:\d+/?$"


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
    google_oauth_base_url: str | None = Field(default=None, alias="GOOGLE_OAUTH_BASE_URL", pattern=_LOCAL_URL)
    google_api_base_url: str | None = Field(default=None, alias="GOOGLE_API_BASE_URL", pattern=_LOCAL_URL)


class ConsentEffectsSettings(Settings):
    """The accounts REST function's consent routes: withdrawing ``geolocation`` erases the device
    locations kept in the call-logs table."""

    call_logs_table: str = Field(alias="CALL_LOGS_TABLE", min_length=3)


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
    google_api_base_url: str | None = Field(default=None, alias="GOOGLE_API_BASE_URL", pattern=_LOCAL_URL)
    google_oauth_base_url: str | None = Field(default=None, alias="GOOGLE_OAUTH_BASE_URL", pattern=_LOCAL_URL)


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


class GoogleImportSettings(ContactImportSettings, GoogleContactsSettings):
    """Google Contacts imports as jobs (ADR 0014): queued by the Gmail API function, run by the
    contact import worker on the import queue."""


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
    google_api_base_url: str | None = Field(default=None, alias="GOOGLE_API_BASE_URL", pattern=_LOCAL_URL)
    google_oauth_base_url: str | None = Field(default=None, alias="GOOGLE_OAUTH_BASE_URL", pattern=_LOCAL_URL)
    microsoft_base_url: str | None = Field(default=None, alias="MICROSOFT_BASE_URL", pattern=_LOCAL_URL)


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
    google_oauth_base_url: str | None = Field(default=None, alias="GOOGLE_OAUTH_BASE_URL", pattern=_LOCAL_URL)
    # Set only by the local stack: the Gmail API (stopping a watch on disconnect) is the local double's.
    google_api_base_url: str | None = Field(default=None, alias="GOOGLE_API_BASE_URL", pattern=_LOCAL_URL)


def environment() -> Mapping[str, str]:
    """The environment as the running function sees it (local overlay first, then the process)."""
    return ChainMap(dict(_overlay.get()), dict(os.environ))


@contextmanager
def function_environment(env: Mapping[str, str]) -> Iterator[None]:
    """Run a block with ``env`` layered over the process environment (used by the local stack)."""
    token = _overlay.set(dict(env))
    try:
        yield
    finally:
        _overlay.reset(token)


def load(model: type[SettingsT]) -> SettingsT:
    """Validate and cache ``model`` from the current environment; fail with the variable's name."""
    key = (model, tuple(sorted(_overlay.get().items())))
    cached = _cache.get(key)
    if cached is not None:
        return cached  # type: ignore[return-value]
    try:
        settings = model.model_validate(dict(environment()))
    except ValidationError as exc:
        problems = "; ".join(f"{_alias(model, str(err['loc'][0]))}: {err['msg']}" for err in exc.errors())
        raise ConfigurationError(f"invalid settings for {model.__name__}: {problems}") from None
    _cache[key] = settings
    return settings


def clear_cache() -> None:
    """Forget validated settings (tests that change the environment call this)."""
    _cache.clear()


def _alias(model: type[BaseModel], name: str) -> str:
    field = model.model_fields.get(name)
    return field.alias if field is not None and field.alias else name

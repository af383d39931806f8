"""The stores of personal data every data-subject request workflow reaches, built from the tasks'
settings: one entry per store. Part of the composition root (``callproof.wiring``), kept beside it so
that both stay short; only ``wiring.dsar_tasks()`` loads it, so no other function's cold start pays
for these adapters.

A store joins by adding one ``PersonalDataStore`` here; a store whose table (or bucket) is not
configured for the tasks function is not deployed and is simply left out. The order is the export's
and the erasure's order (erasure runs stores in parallel; the order only matters for reports), but
the stores in ``ERASED_LAST`` are erased only after all the others.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from callproof import aws
from callproof.calendars.model import Provider
from callproof.dsar.model import Subject
from callproof.dsar.ports import BusinessRecords, GrantRevoker, MemberAccounts, PersonalDataStore
from callproof.settings.dsar import DsarTaskSettings
from callproof.store.accounts_personal_data import AccountsData
from callproof.store.business_records_dynamo import CallOwnership, ContactOwnership
from callproof.store.calls_personal_data_dynamo import CallLogsData, DevicesData
from callproof.store.contacts_personal_data_dynamo import ContactsData
from callproof.store.identity_cognito import CognitoDirectory
from callproof.store.integrations_personal_data import IntegrationsData
from callproof.store.mail_bodies_s3 import S3MailBlobs
from callproof.store.mail_index_dynamo import DynamoMailIndex
from callproof.store.mail_personal_data import MailData
from callproof.store.members_dynamo import DynamoMemberStore
from callproof.store.sms_personal_data_dynamo import SmsData

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from callproof.calendars.service import CalendarService
    from callproof.mail.service import GmailService
    from callproof.tenancy import Caller

StoreFactory = Callable[[DsarTaskSettings], PersonalDataStore | None]


def on_table(
    table: Callable[[DsarTaskSettings], str | None], build: Callable[[DynamoDBClient, str], PersonalDataStore]
) -> StoreFactory:
    """A factory for a store on one DynamoDB table: absent when the table is not configured."""

    def factory(settings: DsarTaskSettings) -> PersonalDataStore | None:
        name = table(settings)
        return build(aws.dynamodb(), name) if name else None

    return factory


def mail_data(settings: DsarTaskSettings) -> PersonalDataStore | None:
    """Gmail sync's index and bodies go together: the store needs MailTable and DataBucket."""
    if not settings.mail_table or not settings.data_bucket:
        return None
    client = aws.dynamodb()
    index = DynamoMailIndex(client, settings.mail_table)
    return MailData(client, settings.mail_table, index, S3MailBlobs(aws.s3(), settings.data_bucket))


def integrations_data(settings: DsarTaskSettings) -> PersonalDataStore | None:
    """The store on MailTable (integrations and OAuth states live there), or None when not deployed."""
    if not settings.mail_table:
        return None
    return IntegrationsData(aws.dynamodb(), settings.mail_table, grant_revoker(settings, settings.mail_table))


def accounts_data(settings: DsarTaskSettings) -> PersonalDataStore | None:
    """On AccountsTable; the photo part with DataBucket, the Cognito part with USER_POOL_ID."""
    if not settings.accounts_table:
        return None
    return AccountsData(
        aws.dynamodb(),
        settings.accounts_table,
        aws.s3() if settings.data_bucket else None,
        settings.data_bucket,
        CognitoDirectory(aws.cognito_idp(), settings.user_pool_id) if settings.user_pool_id else None,
    )


# Each factory builds its store from the settings, or answers None when the store is not deployed.
FACTORIES: list[StoreFactory] = [
    on_table(lambda settings: settings.contacts_table, ContactsData),
    on_table(lambda settings: settings.call_logs_table, CallLogsData),
    on_table(lambda settings: settings.call_logs_table, DevicesData),
    on_table(lambda settings: settings.sms_table, SmsData),
    mail_data,
    integrations_data,
    accounts_data,
]

# Contacts are what the other stores are matched against: deleting one re-matches the calls with its
# numbers (the contacts table's stream), which would rewrite each of the subject's calls just before
# the call-log store deletes it. Erased after the others, they find nothing left to re-match.
ERASED_LAST = frozenset({"contacts"})


def business_records(settings: DsarTaskSettings) -> dict[str, BusinessRecords]:
    """What an erased org user's business records are, by name: the contacts they own and the calls
    they logged, reassigned to an admin before the erasure (ADR 0018); a table not deployed is left out."""
    records: dict[str, BusinessRecords] = {}
    if settings.contacts_table:
        records["contacts"] = ContactOwnership(aws.dynamodb(), settings.contacts_table)
    if settings.call_logs_table:
        records["call_logs"] = CallOwnership(aws.dynamodb(), settings.call_logs_table)
    return records


def members_of(settings: DsarTaskSettings) -> MemberAccounts | None:
    """The org's members (who is an admin), on AccountsTable when deployed."""
    return DynamoMemberStore(aws.dynamodb(), settings.accounts_table) if settings.accounts_table else None


def personal_data_stores(settings: DsarTaskSettings) -> dict[str, PersonalDataStore]:
    """The deployed stores by name, in registration order."""
    stores: dict[str, PersonalDataStore] = {}
    for factory in FACTORIES:
        store = factory(settings)
        if store is not None:
            stores[store.name] = store
    return stores


# --- offboarding a removed member (ADR 0023): the same stores, erased for one user ---------------------
class OneMember:
    """A ``PersonalDataStore`` as the accounts domain's ``MemberData``: its erasure, for one org user."""

    def __init__(self, store: PersonalDataStore) -> None:
        self._store = store

    @property
    def name(self) -> str:
        return self._store.name

    def erase_member(self, org_id: str, user_id: str) -> int:
        return self._store.erase(Subject(org_id=org_id, user_ids=frozenset({user_id}))).deleted


# --- revoking an erased user's grants: the services' own disconnect paths ----------------------------
class ServiceGrants:
    """``GrantRevoker`` through ``GmailService.remove`` (without purge) and ``CalendarService.disconnect``."""

    def __init__(self, gmail: GmailService, calendars: CalendarService) -> None:
        self._gmail = gmail
        self._calendars = calendars

    def revoke_gmail(self, caller: Caller) -> bool:
        return self._gmail.remove(caller, purge=False).revoked

    def revoke_calendar(self, caller: Caller, provider: Provider) -> bool:
        return self._calendars.disconnect(caller, provider)


class _NotReachedByRemoval:
    """Stands in for the services' sync and calendar-API ports: the disconnect paths never use them."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"{name} is not available to the data-subject request tasks")


class GrantSettings(Protocol):
    """What the disconnect paths need (``DsarTaskSettings``, ``OffboardingSettings``)."""

    @property
    def google_oauth_secret_arn(self) -> str | None: ...

    @property
    def google_oauth_base_url(self) -> str | None: ...

    @property
    def google_api_base_url(self) -> str | None: ...

    @property
    def data_key_id(self) -> str: ...


def grant_revoker(settings: GrantSettings, table: str) -> GrantRevoker:
    """The Gmail and calendar services with what their disconnect paths use, on MailTable."""
    from callproof.calendars.service import CalendarService
    from callproof.integrations.google_oauth import GoogleOAuthClient, OAuthEndpoints
    from callproof.mail.google_contacts import ContactsGrantConfig, GoogleContacts
    from callproof.mail.model import GmailConfig
    from callproof.mail.service import GmailService
    from callproof.store.calendars_dynamo import DynamoCalendarStore
    from callproof.store.gmail_integrations_dynamo import DynamoIntegrationStore
    from callproof.store.google_contacts_dynamo import DynamoContactsGrantStore
    from callproof.store.oauth_state_dynamo import OAuthStateStore
    from callproof.store.secrets import CachedJsonSecret
    from callproof.store.token_vault_kms import TokenVault

    secret_arn = settings.google_oauth_secret_arn
    secret = CachedJsonSecret(aws.secretsmanager, secret_arn) if secret_arn else None

    def credential(name: str) -> Callable[[], str]:
        return lambda: secret.field(name) if secret else ""  # revoking needs no client credentials

    google = GoogleOAuthClient(
        credential("client_id"),
        credential("client_secret"),
        OAuthEndpoints.at(settings.google_oauth_base_url),
    )
    states = OAuthStateStore(aws.dynamodb(), table)
    vault = TokenVault(aws.kms, settings.data_key_id)
    unused: Any = _NotReachedByRemoval()

    def gmail_api(access_token: str) -> Any:
        from callproof.integrations.google_gmail import gmail_api  # googleapiclient: only to stop a watch

        return gmail_api(access_token, settings.google_api_base_url)

    google_contacts = GoogleContacts(  # its removal path only: revoke, delete the grant and its links
        DynamoContactsGrantStore(aws.dynamodb(), table),
        google,
        states,
        vault,
        people=unused,
        mark_removed=unused,
        config=ContactsGrantConfig(redirect_uri=None),
    )
    gmail = GmailService(
        integrations=DynamoIntegrationStore(aws.dynamodb(), table),
        index=unused,
        blobs=unused,
        contacts=unused,
        oauth=google,
        states=states,
        vault=vault,
        gmail=gmail_api,
        config=GmailConfig(topic="", redirect_uri=None),
        google_contacts=google_contacts,
    )
    calendar = CalendarService(
        connections=DynamoCalendarStore(aws.dynamodb(), table),
        states=states,
        vault=vault,
        oauth={Provider.GOOGLE: google},  # Microsoft: no per-token revocation, the disconnect only deletes
        api=unused,
        attendees=unused,
        redirect_uri=lambda provider: None,
    )
    return ServiceGrants(gmail, calendar)

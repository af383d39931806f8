"""The one place where services meet their AWS adapters (handlers call these; tests pass fakes instead).

Each builder reads its settings model on first use and is cached for the life of the Lambda
environment, like the boto3 clients it uses. What several builders share (the link key, the
suppression list, Twilio, phone codes) is in ``callproof.wiring_shared``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache, partial
from typing import TYPE_CHECKING

from callproof import aws, config
from callproof.accounts.age import AgeService
from callproof.accounts.consent import ConsentService, PolicyGate
from callproof.accounts.photo import PhotoService
from callproof.accounts.service import AccountService, OrgSettingsService
from callproof.calls.service import CallLogService
from callproof.contacts.importer import ContactImporter
from callproof.contacts.service import ContactService
from callproof.ratelimit import RateLimits
from callproof.sms.service import SmsService
from callproof.sms.web_consent import WebConsent
from callproof.store.calls_dynamo import DynamoCallLogStore, DynamoDeviceStore
from callproof.store.consents_dynamo import DynamoConsentStore
from callproof.store.contacts_dynamo import DynamoContactStore
from callproof.store.identity_cognito import CognitoDirectory
from callproof.store.mailer_ses import SesMailer
from callproof.store.members_dynamo import DynamoMemberStore
from callproof.store.org_settings_dynamo import DynamoOrgSettings, DynamoOrgSettingsStore
from callproof.store.photos_s3 import S3PhotoStorage
from callproof.store.policies_dynamo import DynamoPolicyStore
from callproof.store.rates_dynamo import DynamoRateCounter
from callproof.store.secrets import CachedJsonSecret
from callproof.store.sms_dynamo import DynamoSmsStore
from callproof.store.sms_recipients_dynamo import DynamoRecipientReader
from callproof.wiring_shared import link_key, phone_verification, suppression, twilio_gateway


@cache
def contact_services() -> tuple[ContactService, ContactImporter]:
    settings = config.load(config.ContactsSettings)
    store = DynamoContactStore(aws.dynamodb(), settings.contacts_table)
    orgs = DynamoOrgSettings(aws.dynamodb(), settings.contacts_table, settings.default_phone_region)
    service = ContactService(store, orgs)
    return service, ContactImporter(
        store, orgs, service, suppression(settings.contacts_table, settings.suppression_secret_arn)
    )


@cache
def call_logs() -> tuple[CallLogService, DynamoOrgSettings]:
    settings = config.load(config.CallLogsSettings)
    orgs = DynamoOrgSettings(aws.dynamodb(), settings.contacts_table, settings.default_phone_region)
    service = CallLogService(
        DynamoCallLogStore(aws.dynamodb(), settings.call_logs_table),
        DynamoDeviceStore(aws.dynamodb(), settings.call_logs_table),
        DynamoContactStore(aws.dynamodb(), settings.contacts_table),
        orgs,
    )
    return service, orgs


@cache
def sms() -> tuple[SmsService, config.SmsSettings, CachedJsonSecret]:
    settings = config.load(config.SmsSettings)
    twilio_secret = CachedJsonSecret(aws.secretsmanager, settings.twilio_secret_arn)
    service = SmsService(
        DynamoSmsStore(aws.dynamodb(), settings.sms_table),
        DynamoContactStore(aws.dynamodb(), settings.contacts_table),
        DynamoRecipientReader(aws.dynamodb(), settings.contacts_table),
        DynamoOrgSettings(aws.dynamodb(), settings.contacts_table, settings.default_phone_region),
        twilio_gateway(settings.twilio_secret_arn, settings.twilio_api_base_url),
        link_key(settings.link_secret_arn),
        public_base_url=settings.public_base_url,
        default_daily_cap=settings.daily_cap,
        suppression=suppression(settings.contacts_table, settings.suppression_secret_arn),
    )
    return service, settings, twilio_secret


@cache
def web_consent() -> tuple[WebConsent, config.SmsSettings]:
    """The public consent pages: signed links, CSRF, and opt-outs proven by a texted code."""
    settings = config.load(config.SmsSettings)
    service = WebConsent(
        DynamoSmsStore(aws.dynamodb(), settings.sms_table),
        DynamoOrgSettings(aws.dynamodb(), settings.contacts_table, settings.default_phone_region),
        link_key(settings.link_secret_arn),
        verification=phone_verification(
            settings.sms_table,
            settings.link_secret_arn,
            settings.twilio_secret_arn,
            settings.twilio_api_base_url,
            suppression(settings.contacts_table, settings.suppression_secret_arn),
        ),
    )
    return service, settings


@cache
def accounts() -> tuple[AccountService, OrgSettingsService]:
    settings = config.load(config.AccountsSettings)
    service = AccountService(
        DynamoMemberStore(aws.dynamodb(), settings.accounts_table),
        CognitoDirectory(aws.cognito_idp(), settings.user_pool_id),
    )
    org_settings = OrgSettingsService(
        DynamoOrgSettingsStore(aws.dynamodb(), settings.contacts_table),
        DynamoSmsStore(aws.dynamodb(), settings.sms_table),
    )
    return service, org_settings


if TYPE_CHECKING:  # the DSAR modules load only in the DSAR functions: every other cold start skips them
    from callproof.dsar.ports import RequestStore
    from callproof.dsar.public import PublicRequests
    from callproof.dsar.service import DsarService
    from callproof.dsar.workflow import WorkflowTasks
    from callproof.mail.service import GmailService
    from callproof.mail.sync import MailSync


@cache
def gmail() -> tuple[GmailService, MailSync, config.GmailSettings]:
    """The user's Gmail (REST, OAuth callback) and its sync (push, queue, schedule), on the same
    adapters. Google's SDKs are imported here, on first use, so only the Gmail functions pay for them."""
    from callproof.integrations.google_gmail import gmail_api
    from callproof.integrations.google_oauth import GoogleOAuthClient, OAuthEndpoints
    from callproof.integrations.google_people import people_api
    from callproof.mail.model import GmailConfig
    from callproof.mail.service import GmailService
    from callproof.mail.sync import MailSync
    from callproof.store.gmail_integrations_dynamo import DynamoIntegrationStore
    from callproof.store.mail_bodies_s3 import S3MailBlobs
    from callproof.store.mail_contacts_dynamo import DynamoContactMatcher
    from callproof.store.mail_index_dynamo import DynamoMailIndex
    from callproof.store.oauth_state_dynamo import OAuthStateStore
    from callproof.store.sync_queue_sqs import SqsSyncQueue
    from callproof.store.token_vault_kms import TokenVault

    settings = config.load(config.GmailSettings)
    secret = CachedJsonSecret(aws.secretsmanager, settings.oauth_secret_arn)
    integrations = DynamoIntegrationStore(aws.dynamodb(), settings.mail_table)
    index = DynamoMailIndex(aws.dynamodb(), settings.mail_table)
    blobs = S3MailBlobs(aws.s3(), settings.data_bucket)
    contacts = DynamoContactMatcher(aws.dynamodb(), settings.contacts_table)
    oauth = GoogleOAuthClient(
        lambda: secret.field("client_id"),
        lambda: secret.field("client_secret"),
        OAuthEndpoints.at(settings.google_oauth_base_url),
    )
    vault = TokenVault(aws.kms, settings.data_key_id)
    gmail = partial(gmail_api, api_endpoint=settings.google_api_base_url)
    gmail_config = GmailConfig(settings.topic, settings.redirect_uri, settings.full_sync_days)
    service = GmailService(
        integrations,
        index,
        blobs,
        contacts,
        oauth,
        states=OAuthStateStore(aws.dynamodb(), settings.mail_table),
        vault=vault,
        gmail=gmail,
        config=gmail_config,
        people=lambda token: people_api(token, settings.google_api_base_url),
        import_csv=lambda caller, text: contact_services()[1].run(caller, text).counts(),
    )
    queue = SqsSyncQueue(aws.sqs(), settings.sync_queue_url)
    sync = MailSync(integrations, index, blobs, contacts, oauth, vault, gmail, queue, gmail_config)
    return service, sync, settings


if TYPE_CHECKING:
    from callproof.calendars.service import CalendarService


@cache
def calendars() -> CalendarService:
    from callproof.calendars.model import Attendee, Provider
    from callproof.calendars.ports import CalendarApi
    from callproof.calendars.service import CalendarService
    from callproof.errors import InvalidInput
    from callproof.integrations.google_calendar import GoogleCalendarApi
    from callproof.integrations.google_oauth import GoogleOAuthClient, OAuthEndpoints
    from callproof.integrations.microsoft_graph import (
        GraphCalendarApi,
        MicrosoftEndpoints,
        MicrosoftOAuthClient,
    )
    from callproof.store.calendars_dynamo import DynamoCalendarStore
    from callproof.store.oauth_state_dynamo import OAuthStateStore
    from callproof.store.token_vault_kms import TokenVault

    settings = config.load(config.CalendarSettings)
    google_secret = CachedJsonSecret(aws.secretsmanager, settings.google_oauth_secret_arn)
    microsoft_secret = CachedJsonSecret(aws.secretsmanager, settings.microsoft_oauth_secret_arn)
    microsoft = MicrosoftEndpoints.at(settings.microsoft_base_url)
    contacts = DynamoContactStore(aws.dynamodb(), settings.contacts_table)

    def api(provider: Provider, access_token: str) -> CalendarApi:
        if provider is Provider.GOOGLE:
            return GoogleCalendarApi(access_token, settings.google_api_base_url)
        return GraphCalendarApi(access_token, microsoft.graph)

    def attendees(org_id: str, contact_ids: Sequence[str]) -> list[Attendee]:
        found = []
        for contact_id in contact_ids:
            contact = contacts.get(org_id, contact_id)
            if contact is None:
                raise InvalidInput(f"unknown contact {contact_id}", field="attendee_contact_ids")
            if not contact.emails:
                raise InvalidInput(f"contact {contact_id} has no email address", field="attendee_contact_ids")
            found.append(Attendee(contact.id, contact.name, contact.emails[0]))
        return found

    def redirect_uri(provider: Provider) -> str | None:
        base = settings.public_base_url
        return f"{base.rstrip('/')}/oauth/{provider.value}/calendar/callback" if base else None

    return CalendarService(
        connections=DynamoCalendarStore(aws.dynamodb(), settings.mail_table),
        states=OAuthStateStore(aws.dynamodb(), settings.mail_table),
        vault=TokenVault(aws.kms, settings.data_key_id),
        oauth={
            Provider.GOOGLE: GoogleOAuthClient(
                lambda: google_secret.field("client_id"),
                lambda: google_secret.field("client_secret"),
                OAuthEndpoints.at(settings.google_oauth_base_url),
            ),
            Provider.MICROSOFT: MicrosoftOAuthClient(
                lambda: microsoft_secret.field("client_id"),
                lambda: microsoft_secret.field("client_secret"),
                microsoft,
            ),
        },
        api=api,
        attendees=attendees,
        redirect_uri=redirect_uri,
    )


@cache
def consent() -> ConsentService:
    settings = config.load(config.AccountsSettings)
    return ConsentService(
        DynamoConsentStore(aws.dynamodb(), settings.accounts_table),
        DynamoPolicyStore(aws.dynamodb(), settings.accounts_table),
        link_key(settings.link_secret_arn),
        settings.public_base_url,
    )


@cache
def ages() -> AgeService:
    settings = config.load(config.AccountsSettings)
    return AgeService(
        DynamoConsentStore(aws.dynamodb(), settings.accounts_table),
        SesMailer(aws.ses(), settings.mail_from),
        link_key(settings.link_secret_arn),
        settings.public_base_url,
    )


@cache
def photos() -> PhotoService:
    settings = config.load(config.AccountsSettings)
    return PhotoService(S3PhotoStorage(aws.s3(), settings.data_bucket))


@cache
def policy_gate() -> PolicyGate:
    """Built once per Lambda environment: its caches are what keep the check cheap."""
    settings = config.load(config.PolicyGateSettings)
    table = settings.accounts_table
    return PolicyGate(
        DynamoPolicyStore(aws.dynamodb(), table),
        DynamoConsentStore(aws.dynamodb(), table),
        policy_ttl=settings.policy_cache_seconds,
    )


@cache
def dsar() -> tuple[DsarService, PublicRequests, config.DsarSettings]:
    """The data-subject request services: compliance staff's (REST) and the people's (public pages)."""
    from callproof.dsar.lifecycle import RequestLifecycle
    from callproof.dsar.public import PublicRequests
    from callproof.dsar.service import DsarService
    from callproof.dsar.subjects import SubjectResolver
    from callproof.store.audit_dynamo import DynamoAuditLog
    from callproof.store.dsar_dynamo import DynamoRequestStore
    from callproof.store.exports_s3 import S3ExportLinks
    from callproof.store.workflows_sfn import StepFunctionsWorkflows

    settings = config.load(config.DsarSettings)
    contacts = DynamoContactStore(aws.dynamodb(), settings.contacts_table)
    orgs = DynamoOrgSettings(aws.dynamodb(), settings.contacts_table, settings.default_phone_region)
    workflows = StepFunctionsWorkflows(
        aws.stepfunctions(), settings.export_machine_arn, settings.erasure_machine_arn
    )
    resolver = SubjectResolver(contacts, DynamoMemberStore(aws.dynamodb(), settings.accounts_table))
    key = link_key(settings.link_secret_arn)
    lifecycle = RequestLifecycle(
        requests=DynamoRequestStore(aws.dynamodb(), settings.dsar_table),
        audit=DynamoAuditLog(aws.dynamodb(), settings.dsar_table),
        workflows=workflows,
        machines=workflows,
        resolver=resolver,
        restrictions=contacts,
        downloads=S3ExportLinks(aws.s3(), settings.exports_bucket),
        mailer=SesMailer(aws.ses(), settings.mail_sender),
        link_key=key,
        phone_region=orgs.default_phone_region,
        public_base_url=settings.public_base_url,
    )
    public = PublicRequests(
        lifecycle,
        link_key=key,
        limits=RateLimits(DynamoRateCounter(aws.dynamodb(), settings.dsar_table), key),
        phones=phone_verification(
            settings.sms_table,
            settings.sms_link_secret_arn,
            settings.twilio_secret_arn,
            settings.twilio_api_base_url,
            suppression(settings.contacts_table, settings.suppression_secret_arn),
        ),
        public_rate_per_hour=settings.public_rate_per_hour,
    )
    return DsarService(lifecycle, resolver, ContactService(contacts, orgs)), public, settings


@cache
def dsar_tasks() -> WorkflowTasks:
    """The workflow steps, with every deployed store of personal data (``callproof.wiring_personal_data``)."""
    from callproof.dsar.workflow import WorkflowTasks
    from callproof.store.audit_dynamo import DynamoAuditLog
    from callproof.store.dsar_dynamo import DynamoRequestStore
    from callproof.store.exports_s3 import S3Exports
    from callproof.wiring_personal_data import ERASED_LAST, personal_data_stores

    settings = config.load(config.DsarTaskSettings)
    return WorkflowTasks(
        requests=DynamoRequestStore(aws.dynamodb(), settings.dsar_table),
        audit=DynamoAuditLog(aws.dynamodb(), settings.dsar_table),
        stores=personal_data_stores(settings),
        suppression=suppression(settings.contacts_table, settings.suppression_secret_arn),
        exports=S3Exports(aws.s3(), settings.exports_bucket, settings.data_key_id),
        mailer=SesMailer(aws.ses(), settings.mail_sender),
        link_key=link_key(settings.link_secret_arn),
        public_base_url=settings.public_base_url,
        erased_last=ERASED_LAST,
    )


@cache
def dsar_requests() -> RequestStore:
    """The request store alone (the daily deadline check)."""
    from callproof.store.dsar_dynamo import DynamoRequestStore

    return DynamoRequestStore(aws.dynamodb(), config.load(config.DsarDeadlineSettings).dsar_table)


def reset() -> None:
    """Forget built services (tests that switch settings call this)."""
    contact_services.cache_clear()
    call_logs.cache_clear()
    sms.cache_clear()
    web_consent.cache_clear()
    link_key.cache_clear()
    gmail.cache_clear()
    accounts.cache_clear()
    consent.cache_clear()
    policy_gate.cache_clear()
    photos.cache_clear()
    ages.cache_clear()
    calendars.cache_clear()
    dsar.cache_clear()
    dsar_tasks.cache_clear()
    dsar_requests.cache_clear()

"""The one place where services meet their AWS adapters (handlers call these; tests pass fakes instead).

Each builder imports its own domain and adapters, and reads its settings model, on first use, and is cached
for the life of the Lambda environment, like the boto3 clients it uses: a function loads only what it serves
(nothing here imports a domain at module level). Shared builders are in ``callproof.wiring_shared``.
"""

from __future__ import annotations

from functools import cache, partial
from typing import TYPE_CHECKING

from callproof import aws, config
from callproof.wiring_calendars import calendars as calendars  # re-exported for the calendar handlers
from callproof.wiring_contacts import (  # re-exported for the contacts, Gmail and import handlers
    contact_imports as contact_imports,
)
from callproof.wiring_contacts import contact_services as contact_services
from callproof.wiring_contacts import google_imports as google_imports
from callproof.wiring_retention import retention as retention  # re-exported for the retention handler

if TYPE_CHECKING:  # for annotations only: each builder imports its own domain on first use
    from callproof.accounts.age import AgeService
    from callproof.accounts.consent import ConsentService, PolicyGate
    from callproof.accounts.photo import PhotoService
    from callproof.accounts.service import AccountService, OrgSettingsService
    from callproof.calls.service import CallLogService
    from callproof.settings.dsar import DsarSettings
    from callproof.settings.mail import GmailSettings
    from callproof.settings.sms import SmsSettings
    from callproof.sms.service import SmsService
    from callproof.sms.web_consent import WebConsent
    from callproof.store.org_settings_dynamo import DynamoOrgSettings
    from callproof.store.secrets import CachedJsonSecret


@cache
def call_logs() -> tuple[CallLogService, DynamoOrgSettings]:
    from callproof.calls.service import CallLogService
    from callproof.settings.calls import CallLogsSettings
    from callproof.store.calls_dynamo import DynamoCallLogStore, DynamoDeviceStore
    from callproof.store.consents_dynamo import DynamoConsentStore
    from callproof.store.contacts_dynamo import DynamoContactStore
    from callproof.store.org_settings_dynamo import DynamoOrgSettings

    settings = config.load(CallLogsSettings)
    accounts_table = config.load(config.PolicyGateSettings).accounts_table
    orgs = DynamoOrgSettings(aws.dynamodb(), settings.contacts_table, settings.default_phone_region)
    service = CallLogService(
        DynamoCallLogStore(aws.dynamodb(), settings.call_logs_table),
        DynamoDeviceStore(aws.dynamodb(), settings.call_logs_table),
        DynamoContactStore(aws.dynamodb(), settings.contacts_table),
        orgs,
        geolocation=DynamoConsentStore(aws.dynamodb(), accounts_table),
    )
    return service, orgs


@cache
def sms() -> tuple[SmsService, SmsSettings, CachedJsonSecret]:
    from callproof.settings.sms import SmsSettings
    from callproof.sms.service import SmsService
    from callproof.store.contacts_dynamo import DynamoContactStore
    from callproof.store.org_settings_dynamo import DynamoOrgSettings
    from callproof.store.secrets import CachedJsonSecret
    from callproof.store.sms_dynamo import DynamoSmsStore
    from callproof.store.sms_recipients_dynamo import DynamoRecipientReader
    from callproof.wiring_shared import link_key, suppression, twilio_gateway

    settings = config.load(SmsSettings)
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
def web_consent() -> tuple[WebConsent, SmsSettings]:
    """The public consent pages: signed links, CSRF, and opt-outs proven by a texted code."""
    from callproof.settings.sms import SmsSettings
    from callproof.sms.web_consent import WebConsent
    from callproof.store.org_settings_dynamo import DynamoOrgSettings
    from callproof.store.sms_dynamo import DynamoSmsStore
    from callproof.wiring_shared import link_key, phone_verification, suppression

    settings = config.load(SmsSettings)
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
    from callproof.accounts.service import AccountService, OrgSettingsService
    from callproof.settings.accounts import AccountsSettings
    from callproof.store.identity_cognito import CognitoDirectory
    from callproof.store.members_dynamo import DynamoMemberStore
    from callproof.store.org_identity_dynamo import DynamoOrgIdentity
    from callproof.store.org_settings_dynamo import DynamoOrgSettingsStore
    from callproof.store.sms_dynamo import DynamoSmsStore

    settings = config.load(AccountsSettings)
    service = AccountService(
        DynamoMemberStore(aws.dynamodb(), settings.accounts_table),
        CognitoDirectory(aws.cognito_idp(), settings.user_pool_id),
    )
    org_settings = OrgSettingsService(
        DynamoOrgSettingsStore(aws.dynamodb(), settings.contacts_table),
        DynamoSmsStore(aws.dynamodb(), settings.sms_table),
        DynamoOrgIdentity(aws.dynamodb(), settings.accounts_table),
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
def gmail() -> tuple[GmailService, MailSync, GmailSettings]:
    """The user's Gmail (REST, OAuth callback) and its sync (push, queue, schedule), on the same
    adapters. Google's SDKs are imported here, on first use, so only the Gmail functions pay for them."""
    from callproof.integrations.google_gmail import gmail_api
    from callproof.mail.model import GmailConfig
    from callproof.mail.service import GmailService
    from callproof.mail.sync import MailSync
    from callproof.settings.mail import GmailSettings
    from callproof.store.gmail_integrations_dynamo import DynamoIntegrationStore
    from callproof.store.mail_bodies_s3 import S3MailBlobs
    from callproof.store.mail_contacts_dynamo import DynamoContactMatcher
    from callproof.store.mail_index_dynamo import DynamoMailIndex
    from callproof.store.oauth_state_dynamo import OAuthStateStore
    from callproof.store.sync_queue_sqs import SqsSyncQueue
    from callproof.store.token_vault_kms import TokenVault
    from callproof.wiring_shared import google_contacts, google_oauth, member_email

    settings = config.load(GmailSettings)
    integrations = DynamoIntegrationStore(aws.dynamodb(), settings.mail_table)
    index = DynamoMailIndex(aws.dynamodb(), settings.mail_table)
    blobs = S3MailBlobs(aws.s3(), settings.data_bucket)
    contacts = DynamoContactMatcher(aws.dynamodb(), settings.contacts_table)
    oauth = google_oauth(settings)
    vault = TokenVault(aws.kms, settings.data_key_id)
    gmail = partial(gmail_api, api_endpoint=settings.google_api_base_url)
    gmail_config = GmailConfig(settings.topic, settings.redirect_uri, settings.full_sync_days)
    states = OAuthStateStore(aws.dynamodb(), settings.mail_table)
    contacts_grant = google_contacts(settings, oauth, states, vault)
    service = GmailService(
        integrations,
        index,
        blobs,
        contacts,
        oauth,
        states=states,
        vault=vault,
        gmail=gmail,
        config=gmail_config,
        google_contacts=contacts_grant,
        member_email=member_email,
    )
    queue = SqsSyncQueue(aws.sqs(), settings.sync_queue_url)
    sync = MailSync(integrations, index, blobs, contacts, oauth, vault, gmail, queue, gmail_config)
    return service, sync, settings


@cache
def consent() -> ConsentService:
    from callproof.accounts.consent import ConsentService
    from callproof.settings.accounts import AccountsSettings
    from callproof.store.consents_dynamo import DynamoConsentStore
    from callproof.store.policies_dynamo import DynamoPolicyStore
    from callproof.wiring_shared import link_key

    settings = config.load(AccountsSettings)
    return ConsentService(
        DynamoConsentStore(aws.dynamodb(), settings.accounts_table),
        DynamoPolicyStore(aws.dynamodb(), settings.accounts_table),
        link_key(settings.link_secret_arn),
        settings.public_base_url,
    )


@cache
def ages() -> AgeService:
    from callproof.accounts.age import AgeService
    from callproof.settings.accounts import AccountsSettings
    from callproof.store.consents_dynamo import DynamoConsentStore
    from callproof.store.mailer_ses import SesMailer
    from callproof.wiring_shared import link_key

    settings = config.load(AccountsSettings)
    return AgeService(
        DynamoConsentStore(aws.dynamodb(), settings.accounts_table),
        SesMailer(aws.ses(), settings.mail_from),
        link_key(settings.link_secret_arn),
        settings.public_base_url,
    )


@cache
def photos() -> PhotoService:
    from callproof.accounts.photo import PhotoService
    from callproof.settings.accounts import AccountsSettings
    from callproof.store.photos_s3 import S3PhotoStorage

    settings = config.load(AccountsSettings)
    return PhotoService(S3PhotoStorage(aws.s3(), settings.data_bucket))


@cache
def policy_gate() -> PolicyGate:
    """Built once per Lambda environment: its caches are what keep the check cheap."""
    from callproof.accounts.consent import PolicyGate
    from callproof.store.consents_dynamo import DynamoConsentStore
    from callproof.store.policies_dynamo import DynamoPolicyStore

    settings = config.load(config.PolicyGateSettings)
    table = settings.accounts_table
    return PolicyGate(
        DynamoPolicyStore(aws.dynamodb(), table),
        DynamoConsentStore(aws.dynamodb(), table),
        policy_ttl=settings.policy_cache_seconds,
    )


@cache
def dsar() -> tuple[DsarService, PublicRequests, DsarSettings]:
    """The data-subject request services: compliance staff's (REST) and the people's (public pages)."""
    from callproof.contacts.service import ContactService
    from callproof.dsar.lifecycle import RequestLifecycle
    from callproof.dsar.public import PublicRequests
    from callproof.dsar.service import DsarService
    from callproof.dsar.subjects import SubjectResolver
    from callproof.ratelimit import RateLimits
    from callproof.settings.dsar import DsarSettings
    from callproof.store.audit_dynamo import DynamoAuditLog
    from callproof.store.contacts_dynamo import DynamoContactStore
    from callproof.store.dsar_dynamo import DynamoRequestStore
    from callproof.store.exports_s3 import S3ExportLinks
    from callproof.store.mailer_ses import SesMailer
    from callproof.store.members_dynamo import DynamoMemberStore
    from callproof.store.org_identity_dynamo import DynamoOrgIdentity
    from callproof.store.org_settings_dynamo import DynamoOrgSettings
    from callproof.store.rates_dynamo import DynamoRateCounter
    from callproof.store.workflows_sfn import StepFunctionsWorkflows
    from callproof.wiring_shared import link_key, phone_verification, suppression

    settings = config.load(DsarSettings)
    contacts = DynamoContactStore(aws.dynamodb(), settings.contacts_table)
    orgs = DynamoOrgSettings(aws.dynamodb(), settings.contacts_table, settings.default_phone_region)
    workflows = StepFunctionsWorkflows(
        aws.stepfunctions(), settings.export_machine_arn, settings.erasure_machine_arn
    )
    members = DynamoMemberStore(aws.dynamodb(), settings.accounts_table)
    resolver = SubjectResolver(contacts, members)
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
        complaint_days=settings.complaint_days,
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
        orgs=DynamoOrgIdentity(aws.dynamodb(), settings.accounts_table),
    )
    return DsarService(lifecycle, resolver, ContactService(contacts, orgs), members), public, settings


@cache
def dsar_tasks() -> WorkflowTasks:
    """The workflow steps, with every deployed store of personal data (``callproof.wiring_personal_data``)."""
    from callproof.dsar.workflow import WorkflowTasks
    from callproof.settings.dsar import DsarTaskSettings
    from callproof.store.audit_dynamo import DynamoAuditLog
    from callproof.store.dsar_dynamo import DynamoRequestStore
    from callproof.store.exports_s3 import S3Exports
    from callproof.store.mailer_ses import SesMailer
    from callproof.wiring_personal_data import ERASED_LAST, business_records, members_of, personal_data_stores
    from callproof.wiring_shared import link_key, suppression

    settings = config.load(DsarTaskSettings)
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
        members=members_of(settings),
        records=business_records(settings),
    )


@cache
def dsar_requests() -> RequestStore:
    """The request store alone (the daily deadline check)."""
    from callproof.settings.dsar import DsarDeadlineSettings
    from callproof.store.dsar_dynamo import DynamoRequestStore

    return DynamoRequestStore(aws.dynamodb(), config.load(DsarDeadlineSettings).dsar_table)


def reset() -> None:
    """Forget built services (tests that switch settings call this)."""
    from callproof.wiring_shared import link_key

    contact_services.cache_clear()
    contact_imports.cache_clear()
    google_imports.cache_clear()
    call_logs.cache_clear()
    retention.cache_clear()
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

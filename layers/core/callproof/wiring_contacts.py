"""The contacts builders of the composition root (``callproof.wiring``, which re-exports them): the
contact service and importer, CSV import jobs, and Google Contacts import jobs. Each imports its
domain and adapters on first use, like every builder."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from callproof import aws, config

if TYPE_CHECKING:  # for annotations only: each builder imports its own domain on first use
    from callproof.contacts.google_imports import GoogleImportJobs
    from callproof.contacts.importer import ContactImporter
    from callproof.contacts.jobs import ImportJobs
    from callproof.contacts.service import ContactService


@cache
def contact_services() -> tuple[ContactService, ContactImporter]:
    from callproof.contacts.importer import ContactImporter
    from callproof.contacts.service import ContactService
    from callproof.settings.contacts import ContactsSettings
    from callproof.store.contacts_dynamo import DynamoContactStore
    from callproof.store.org_settings_dynamo import DynamoOrgSettings
    from callproof.wiring_shared import suppression

    settings = config.load(ContactsSettings)
    store = DynamoContactStore(aws.dynamodb(), settings.contacts_table)
    orgs = DynamoOrgSettings(aws.dynamodb(), settings.contacts_table, settings.default_phone_region)
    service = ContactService(store, orgs)
    return service, ContactImporter(
        store, orgs, service, suppression(settings.contacts_table, settings.suppression_secret_arn)
    )


@cache
def contact_imports() -> ImportJobs:
    """Large CSV imports (the contacts API's upload routes and the import worker)."""
    from callproof.contacts.jobs import ImportJobs
    from callproof.settings.contacts import ContactImportSettings
    from callproof.store.import_files_s3 import S3ImportFiles
    from callproof.store.import_jobs_dynamo import DynamoImportJobStore
    from callproof.store.import_queue_sqs import SqsImportQueue

    settings = config.load(ContactImportSettings)
    return ImportJobs(
        DynamoImportJobStore(aws.dynamodb(), settings.contacts_table),
        S3ImportFiles(aws.s3(), settings.data_bucket, settings.data_key_id),
        SqsImportQueue(aws.sqs(), settings.import_queue_url),
        contact_services()[1],
    )


@cache
def google_imports() -> GoogleImportJobs:
    """Google Contacts imports as jobs: the Gmail API's route queues one, the import worker runs it
    page by page. The contact importer is built when a worker applies its first page."""
    from callproof.contacts.google_imports import GoogleImportJobs
    from callproof.settings.contacts import GoogleImportSettings
    from callproof.store.import_files_s3 import S3ImportFiles
    from callproof.store.import_jobs_dynamo import DynamoImportJobStore
    from callproof.store.import_queue_sqs import SqsImportQueue
    from callproof.store.oauth_state_dynamo import OAuthStateStore
    from callproof.store.token_vault_kms import TokenVault
    from callproof.wiring_shared import google_contacts, google_oauth

    settings = config.load(GoogleImportSettings)
    people = google_contacts(
        settings,
        google_oauth(settings),
        OAuthStateStore(aws.dynamodb(), settings.mail_table),
        TokenVault(aws.kms, settings.data_key_id),
    )
    return GoogleImportJobs(
        DynamoImportJobStore(aws.dynamodb(), settings.contacts_table),
        S3ImportFiles(aws.s3(), settings.data_bucket, settings.data_key_id),
        SqsImportQueue(aws.sqs(), settings.import_queue_url),
        lambda: contact_services()[1],
        people,
    )

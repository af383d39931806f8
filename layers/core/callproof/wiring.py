"""The one place where services meet their AWS adapters (handlers call these; tests pass fakes instead).

Each builder reads its settings model on first use and is cached for the life of the Lambda
environment, like the boto3 clients it uses.
"""

from __future__ import annotations

from functools import cache

from callproof import aws, config
from callproof.calls.service import CallLogService
from callproof.contacts.importer import ContactImporter
from callproof.contacts.service import ContactService
from callproof.store.calls_dynamo import DynamoCallLogStore, DynamoDeviceStore
from callproof.store.contacts_dynamo import DynamoContactStore, DynamoOrgSettings


@cache
def contact_services() -> tuple[ContactService, ContactImporter]:
    settings = config.load(config.ContactsSettings)
    store = DynamoContactStore(aws.dynamodb(), settings.contacts_table)
    orgs = DynamoOrgSettings(aws.dynamodb(), settings.contacts_table, settings.default_phone_region)
    service = ContactService(store, orgs)
    return service, ContactImporter(store, orgs, service)


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


def reset() -> None:
    """Forget built services (tests that switch settings call this)."""
    contact_services.cache_clear()
    call_logs.cache_clear()

"""The composition root's retention annex (``callproof.wiring`` re-exports ``retention``): the daily
purge with one ``ExpiringStore`` adapter per store that has a retention rule and a purge.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from callproof import aws, config

if TYPE_CHECKING:
    from callproof.retention.service import RetentionService


@cache
def retention() -> RetentionService:
    """The daily purge over every store with a retention rule (``callproof.retention.model.RULES``)."""
    from callproof.retention.service import RetentionService
    from callproof.settings.retention import RetentionSettings
    from callproof.store.audit_dynamo import DynamoAuditLog
    from callproof.store.mail_bodies_s3 import S3MailBlobs
    from callproof.store.org_settings_dynamo import DynamoOrgSettings
    from callproof.store.retention_dynamo import (
        AuditedRetention,
        CallLogExpiry,
        ClosedRequestExpiry,
        DeviceExpiry,
        DeviceLocationExpiry,
        MailExpiry,
        SmsExpiry,
        UntouchedContactExpiry,
    )
    from callproof.store.retention_s3 import ExportStagingExpiry

    settings = config.load(RetentionSettings)
    client = aws.dynamodb()
    return RetentionService(
        [
            MailExpiry(client, settings.mail_table, S3MailBlobs(aws.s3(), settings.data_bucket)),
            SmsExpiry(client, settings.sms_table),
            CallLogExpiry(client, settings.call_logs_table),
            DeviceExpiry(
                client, settings.call_logs_table
            ),  # before the locations: a device that goes takes its location
            DeviceLocationExpiry(client, settings.call_logs_table),
            ClosedRequestExpiry(client, settings.dsar_table),
            ExportStagingExpiry(aws.s3(), settings.exports_bucket),
            UntouchedContactExpiry(client, settings.contacts_table),
        ],
        DynamoOrgSettings(client, settings.contacts_table, settings.default_phone_region),
        AuditedRetention(DynamoAuditLog(client, settings.dsar_table)),
    )

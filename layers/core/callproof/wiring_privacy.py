"""The privacy mailbox's composition, part of the composition root (``callproof.wiring``, whose DSAR
services it reuses), kept apart so that both stay short. Only ``functions/privacy_inbox`` loads it."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from callproof import aws, config
from callproof.wiring import dsar

if TYPE_CHECKING:
    from callproof.dsar.intake import MailIntake


@cache
def privacy_inbox() -> MailIntake:
    """Mail SES stored for the privacy address, filed as public requests (``PublicRequests``)."""
    from callproof.dsar.intake import MailIntake
    from callproof.store.inbound_mail_s3 import S3InboundMessages
    from callproof.store.org_identity_dynamo import DynamoOrgIdentity

    settings = config.load(config.PrivacyInboxSettings)
    return MailIntake(
        dsar()[1],
        DynamoOrgIdentity(aws.dynamodb(), settings.accounts_table),
        S3InboundMessages(aws.s3(), settings.inbound_bucket, settings.inbound_prefix),
        settings.privacy_address,
        own_addresses=frozenset({settings.mail_sender}),
    )

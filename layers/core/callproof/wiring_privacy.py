"""The privacy mailbox's and the breach register's composition, part of the composition root
(``callproof.wiring``, whose DSAR services it reuses), kept apart so that both stay short. Only
``functions/privacy_inbox``, ``functions/dsar`` (incident routes) and ``functions/dsar_deadlines``
(the incidents' clock) load it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from callproof import aws, config
from callproof.wiring import dsar

if TYPE_CHECKING:
    from callproof.dsar.intake import MailIntake
    from callproof.incidents.ports import IncidentStore
    from callproof.incidents.service import IncidentService


def privacy_inbox() -> MailIntake:
    """Mail SES stored for the privacy address, filed as public requests (``PublicRequests``). Not
    cached: the services, clients and settings it is made of are cached where they are built (and
    ``wiring.reset`` forgets them, which a cache here would not see)."""
    from callproof.dsar.intake import MailIntake
    from callproof.settings.dsar import PrivacyInboxSettings
    from callproof.store.email_holders import OrgsHoldingEmail
    from callproof.store.identity_cognito import CognitoDirectory
    from callproof.store.inbound_mail_s3 import S3InboundMessages
    from callproof.store.org_identity_dynamo import DynamoOrgIdentity

    settings = config.load(PrivacyInboxSettings)
    return MailIntake(
        dsar()[1],
        DynamoOrgIdentity(aws.dynamodb(), settings.accounts_table),
        S3InboundMessages(aws.s3(), settings.inbound_bucket, settings.inbound_prefix),
        settings.privacy_address,
        own_addresses=frozenset({settings.mail_sender}),
        holders=OrgsHoldingEmail(
            CognitoDirectory(aws.cognito_idp(), settings.user_pool_id),
            aws.dynamodb(),
            settings.contacts_table,
        ),
    )


def incidents() -> IncidentService:
    """The breach register (ADR 0020): incidents and their once-markers in the DSAR table, audited in
    the DSAR hash chain; affected people read from the accounts and contacts tables. Not cached: it
    holds no state of its own (the clients and settings it reads are cached where they are built)."""
    from callproof.incidents.service import IncidentService
    from callproof.settings.dsar import IncidentSettings
    from callproof.store.audit_dynamo import DynamoAuditLog
    from callproof.store.incidents_dynamo import DynamoAffectedPeople, DynamoIncidentStore
    from callproof.store.mailer_ses import SesMailer

    settings = config.load(IncidentSettings)
    return IncidentService(
        DynamoIncidentStore(aws.dynamodb(), settings.dsar_table),
        DynamoAffectedPeople(aws.dynamodb(), settings.contacts_table, settings.accounts_table),
        SesMailer(aws.ses(), settings.mail_sender),
        DynamoAuditLog(aws.dynamodb(), settings.dsar_table),
        settings.operator_org_id,
    )


def incident_store() -> IncidentStore:
    """The incidents alone, on the DSAR table (the daily clock check in ``functions/dsar_deadlines``)."""
    from callproof.settings.dsar import DsarDeadlineSettings
    from callproof.store.incidents_dynamo import DynamoIncidentStore

    return DynamoIncidentStore(aws.dynamodb(), config.load(DsarDeadlineSettings).dsar_table)

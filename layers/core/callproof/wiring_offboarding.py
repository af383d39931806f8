"""Offboarding (ADR 0023), part of the composition root (``callproof.wiring``), kept beside it so that
both stay short: removing and restoring members (the accounts function) and the daily member sweep.
The removal reuses the data-subject request stores (``callproof.wiring_personal_data``): the
integrations' disconnect paths, the devices store and the business-records reassignment; the sweep
only the accounts store, so its function loads neither Google nor the call-log and mail adapters.
As in ``wiring_privacy``, the builders are not cached: a removal is rare, and what they build from
(boto3 clients, settings) is cached already."""

from __future__ import annotations

from typing import TYPE_CHECKING

from callproof import aws, config

if TYPE_CHECKING:
    from callproof.accounts.offboarding import Offboarding
    from callproof.accounts.ports import GracePeriods, MemberData, OwnedRecords
    from callproof.dsar.ports import PersonalDataStore
    from callproof.settings.accounts import MemberSweepSettings, OffboardingSettings


def offboarding() -> Offboarding:
    """Removing and restoring members (the accounts function, ADR 0023): the integrations' disconnect
    paths and the devices store of the data-subject workflows, erased for one user at removal; the
    contacts and calls reassigned as an erasure reassigns them; the audit trail in DsarTable."""
    from callproof.settings.accounts import OffboardingSettings
    from callproof.store.org_settings_dynamo import DynamoOrgSettingsStore

    settings = config.load(OffboardingSettings)
    grace = DynamoOrgSettingsStore(aws.dynamodb(), settings.contacts_table)
    return _offboarding(settings, _removal_stores(settings), _owned_records(settings), grace)


def member_sweep() -> Offboarding:
    """The daily sweep (MemberSweepFunction): only the account store (Cognito user, profile, current
    consents, photo), so the sweep loads neither Google nor the call-log and mail adapters."""
    from callproof.settings.accounts import MemberSweepSettings

    return _offboarding(config.load(MemberSweepSettings), {}, {}, None)


def _offboarding(
    settings: MemberSweepSettings,
    immediate: dict[str, MemberData],
    records: dict[str, OwnedRecords],
    grace: GracePeriods | None,
) -> Offboarding:
    from callproof.accounts.offboarding import Offboarding
    from callproof.store.accounts_personal_data import AccountsData
    from callproof.store.audit_dynamo import DynamoAuditLog
    from callproof.store.identity_cognito import CognitoDirectory
    from callproof.store.members_dynamo import DynamoMemberStore
    from callproof.store.photos_s3 import S3PhotoStorage
    from callproof.wiring_personal_data import OneMember

    client = aws.dynamodb()
    members = DynamoMemberStore(client, settings.accounts_table)
    directory = CognitoDirectory(aws.cognito_idp(), settings.user_pool_id)
    account = AccountsData(client, settings.accounts_table, aws.s3(), settings.data_bucket, directory)
    return Offboarding(
        members=members,
        removed=members,
        directory=directory,
        photos=S3PhotoStorage(aws.s3(), settings.data_bucket),
        immediate=immediate,
        records=records,
        account=OneMember(account),
        audit=DynamoAuditLog(client, settings.dsar_table),
        settings=grace,
    )


def _removal_stores(settings: OffboardingSettings) -> dict[str, MemberData]:
    """What goes at once: the grants (Gmail watch stopped first, then revoked; calendars revoked; the
    tokens deleted) and the devices with their locations."""
    from callproof.store.calls_personal_data_dynamo import DevicesData
    from callproof.store.integrations_personal_data import IntegrationsData
    from callproof.wiring_personal_data import OneMember, grant_revoker

    client = aws.dynamodb()
    grants = grant_revoker(settings, settings.mail_table)
    stores: list[PersonalDataStore] = [
        IntegrationsData(client, settings.mail_table, grants),
        DevicesData(client, settings.call_logs_table),
    ]
    return {store.name: OneMember(store) for store in stores}


def _owned_records(settings: OffboardingSettings) -> dict[str, OwnedRecords]:
    from callproof.store.business_records_dynamo import CallOwnership, ContactOwnership

    return {
        "contacts": ContactOwnership(aws.dynamodb(), settings.contacts_table),
        "call_logs": CallOwnership(aws.dynamodb(), settings.call_logs_table),
    }

"""Consent that acts (issue 16, point 3), part of the composition root (``callproof.wiring``, whose
cached consent service it reuses), kept apart so that both stay short. Only ``functions/accounts``
loads it. Nothing here is cached: each builder is a few objects around the cached consent service, so
a test that resets ``wiring`` gets them afresh too."""

from __future__ import annotations

from typing import TYPE_CHECKING

from callproof import aws, config
from callproof.wiring import consent

if TYPE_CHECKING:
    from callproof.accounts.announcements import Announcements
    from callproof.accounts.consent_effects import ConsentActions


def consent_actions() -> ConsentActions:
    """Withdrawing ``geolocation`` erases the device locations of the call-logs table."""
    from callproof.accounts.consent_effects import ConsentActions
    from callproof.settings.accounts import ConsentEffectsSettings
    from callproof.store.calls_dynamo import DynamoDeviceStore

    table = config.load(ConsentEffectsSettings).call_logs_table
    return ConsentActions(consent(), DynamoDeviceStore(aws.dynamodb(), table))


def announcements() -> Announcements:
    """The one marketing mail: its mailer sends only to ``ConsentService.marketing_recipient``'s output."""
    from callproof.accounts.announcements import Announcements
    from callproof.settings.accounts import AccountsSettings
    from callproof.store.mailer_ses import SesMarketingMailer
    from callproof.store.members_dynamo import DynamoMemberStore

    settings = config.load(AccountsSettings)
    members = DynamoMemberStore(aws.dynamodb(), settings.accounts_table)
    return Announcements(members, consent(), SesMarketingMailer(aws.ses(), settings.mail_from))

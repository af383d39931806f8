"""The calendars' composition (Google Calendar and Microsoft Graph behind one service), part of the
composition root (``callproof.wiring``, which re-exports it), kept apart so that both stay short.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING

from callproof import aws, config

if TYPE_CHECKING:
    from callproof.calendars.ports import CalendarApi
    from callproof.calendars.service import CalendarService


@cache
def calendars() -> CalendarService:
    from callproof.calendars.model import Attendee, Provider
    from callproof.calendars.service import CalendarService
    from callproof.errors import InvalidInput
    from callproof.integrations.google_calendar import GoogleCalendarApi
    from callproof.integrations.google_oauth import GoogleOAuthClient, OAuthEndpoints
    from callproof.integrations.microsoft_graph import (
        GraphCalendarApi,
        MicrosoftEndpoints,
        MicrosoftOAuthClient,
    )
    from callproof.settings.calendars import CalendarSettings
    from callproof.store.calendars_dynamo import DynamoCalendarStore
    from callproof.store.contacts_dynamo import DynamoContactStore
    from callproof.store.oauth_state_dynamo import OAuthStateStore
    from callproof.store.secrets import CachedJsonSecret
    from callproof.store.token_vault_kms import TokenVault
    from callproof.wiring_shared import member_email

    settings = config.load(CalendarSettings)
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
        member_email=member_email,
    )

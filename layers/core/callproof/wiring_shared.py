"""What several of the composition root's builders share: the key that signs public links, the
erasure suppression list, Twilio's client and the phone codes texted with it, the member's email that
the OAuth consent screens are steered to. Part of the composition
root (``callproof.wiring``), kept beside it so that both stay short.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING

from callproof import aws, config

if TYPE_CHECKING:  # for annotations only: each builder imports its own domain on first use
    from callproof.integrations.google_oauth import GoogleOAuthClient
    from callproof.mail.google_contacts import GoogleContacts
    from callproof.oauth.ports import OAuthClient, StateStore, TokenSealer
    from callproof.settings.contacts import GoogleContactsSettings
    from callproof.sms.ports import SmsGateway
    from callproof.sms.verification import PhoneVerification
    from callproof.store.suppression_dynamo import DynamoSuppression, SuppressionKeys


def google_oauth(settings: GoogleContactsSettings) -> GoogleOAuthClient:
    """Google's OAuth client, its client id and secret read from Secrets Manager on first use."""
    from callproof.integrations.google_oauth import GoogleOAuthClient, OAuthEndpoints
    from callproof.store.secrets import CachedJsonSecret

    secret = CachedJsonSecret(aws.secretsmanager, settings.oauth_secret_arn)
    return GoogleOAuthClient(
        lambda: secret.field("client_id"),
        lambda: secret.field("client_secret"),
        OAuthEndpoints.at(settings.google_oauth_base_url),
    )


def google_contacts(
    settings: GoogleContactsSettings,
    oauth: OAuthClient,
    states: StateStore,
    vault: TokenSealer,
) -> GoogleContacts:
    """The Google Contacts grant and its pages (``wiring.gmail``, ``wiring.google_imports``): People
    API, the grant items in the MailTable, contacts marked ``removed_in_google`` in the ContactsTable."""
    from callproof.integrations.google_people import people_api
    from callproof.mail.google_contacts import ContactsGrantConfig, GoogleContacts
    from callproof.store.contacts_dynamo import DynamoContactStore
    from callproof.store.google_contacts_dynamo import DynamoContactsGrantStore

    return GoogleContacts(
        DynamoContactsGrantStore(aws.dynamodb(), settings.mail_table),
        oauth,
        states,
        vault,
        people=lambda token: people_api(token, settings.google_api_base_url),
        mark_removed=DynamoContactStore(aws.dynamodb(), settings.contacts_table).mark_removed_in_google,
        config=ContactsGrantConfig(settings.redirect_uri),
    )


def member_email(org_id: str, user_id: str) -> str | None:
    """The member's CallProof email (every consent URL's ``login_hint``); None for an unknown member."""
    from callproof.store.members_dynamo import DynamoMemberStore

    table = config.load(config.PolicyGateSettings).accounts_table  # every authenticated function has it
    member = DynamoMemberStore(aws.dynamodb(), table).get(org_id, user_id)
    return member.email if member else None


@cache
def link_key(secret_arn: str) -> Callable[[], bytes]:
    """The HMAC key that signs public links (SMS consent, unsubscribe, guardian), read lazily."""
    from callproof.store.secrets import CachedJsonSecret

    secret = CachedJsonSecret(aws.secretsmanager, secret_arn)
    return lambda: secret.field("key").encode()


@cache
def suppression_keys(secret_arn: str) -> Callable[[], SuppressionKeys]:
    """The suppression list's HMAC keys by version (``{"key": ...}`` or ``{"keys": {...}, "current":
    ...}``, ADR 0009), read lazily and again after the secret cache's 5 minutes, so a rotation lands."""
    from callproof.store.secrets import CachedJsonSecret
    from callproof.store.suppression_dynamo import SuppressionKeys

    secret = CachedJsonSecret(aws.secretsmanager, secret_arn)
    return lambda: SuppressionKeys.from_secret(secret.get())


def suppression(contacts_table: str, secret_arn: str) -> DynamoSuppression:
    """The erasure suppression list: reads try every key version listed, writes use the current one."""
    from callproof.store.suppression_dynamo import DynamoSuppression

    return DynamoSuppression(aws.dynamodb(), contacts_table, suppression_keys(secret_arn))


def twilio_gateway(secret_arn: str, api_base_url: str | None) -> Callable[[], SmsGateway]:
    """Twilio's REST client, built (and its SDK imported) only when a text is sent."""
    from callproof.store.secrets import CachedJsonSecret

    secret = CachedJsonSecret(aws.secretsmanager, secret_arn)

    def gateway() -> SmsGateway:
        from callproof.integrations.twilio_rest import TwilioSmsGateway

        return TwilioSmsGateway(secret.field("account_sid"), secret.field("auth_token"), api_base_url)

    return gateway


def phone_verification(
    sms_table: str, link_secret_arn: str, twilio_secret_arn: str, twilio_api_base_url: str | None,
    suppressed: DynamoSuppression,
) -> PhoneVerification:  # fmt: skip
    """Codes texted from the org's sender; codes and their rate counters live in the SMS table."""
    from callproof.otp import OneTimeCodes
    from callproof.ratelimit import RateLimits
    from callproof.sms.verification import PhoneVerification
    from callproof.store.codes_dynamo import DynamoOneTimeCodes
    from callproof.store.rates_dynamo import DynamoRateCounter
    from callproof.store.sms_dynamo import DynamoSmsStore

    key = link_key(link_secret_arn)
    return PhoneVerification(
        OneTimeCodes(DynamoOneTimeCodes(aws.dynamodb(), sms_table), key),
        RateLimits(DynamoRateCounter(aws.dynamodb(), sms_table), key),
        DynamoSmsStore(aws.dynamodb(), sms_table),
        twilio_gateway(twilio_secret_arn, twilio_api_base_url),
        suppressed,
    )

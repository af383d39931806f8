"""The integrations store of personal data (callproof.store.integrations_personal_data): a user
subject's Gmail and calendar connections, connected through the real handlers against the local Google
and Microsoft doubles, then revoked (through the services' disconnect paths) and deleted; a provider
that is down does not keep a token stored."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from callproof import aws
from callproof.calendars.model import Provider, Selection
from callproof.dsar.model import Subject
from callproof.store.calendars_dynamo import DynamoCalendarStore
from callproof.store.dynamo import to_item
from callproof.store.gmail_integrations_dynamo import DynamoIntegrationStore, route_key
from callproof.wiring_personal_data import integrations_data
from callproof_local import google_double, microsoft_double
from callproof_local.google_double import DEFAULT_MAILBOX, GoogleDouble
from callproof_local.template import Physical
from tests.integration.calendars.test_calendars_api import GATEWAY
from tests.integration.calendars.test_calendars_api import connect as connect_calendar
from tests.integration.conftest import Invoke
from tests.integration.mail.test_gmail_api import connect as connect_gmail
from tests.integration.mail.test_mail_personal_data import dsar_settings
from tests.support import api_event

ORG = "org-a"
OTHER_MAILBOX = "rep2@callproof.test"
REP = Subject(ORG, emails=frozenset({DEFAULT_MAILBOX}), user_ids=frozenset({"rep-1"}))
TOKEN_ATTRIBUTES = {"token_ct", "token_nonce", "token_key"}


@pytest.fixture
def google(aws_stack: dict[str, Physical], monkeypatch: pytest.MonkeyPatch) -> Iterator[GoogleDouble]:
    google, microsoft = GoogleDouble().start(), microsoft_double.MicrosoftDouble().start()
    env = {
        **google_double.local_environment(GATEWAY, google.url),
        **microsoft_double.local_environment(GATEWAY, microsoft.url),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    google_double.set_dev_credentials(boto3.Session(), None, aws_stack["GoogleOAuthSecret"].ref)
    microsoft_double.set_dev_credentials(boto3.Session(), None, aws_stack["MicrosoftOAuthSecret"].ref)
    yield google
    google.stop()
    microsoft.stop()


@pytest.fixture
def connected(call: Invoke, aws_stack: dict[str, Physical], google: GoogleDouble) -> str:
    """rep-1: Gmail, Google and Microsoft calendars, a selected calendar, an unfinished OAuth flow;
    rep-2: Gmail and an unfinished OAuth flow. Answers the MailTable name."""
    connect_gmail(call, DEFAULT_MAILBOX, user="rep-1")
    connect_gmail(call, OTHER_MAILBOX, user="rep-2")
    connect_calendar(call, "google")
    connect_calendar(call, "microsoft")
    table = aws_stack["MailTable"].ref
    DynamoCalendarStore(aws.dynamodb(), table).select(
        ORG, "rep-1", Selection(Provider.GOOGLE, "cal-1", "CRM")
    )
    for user in ("rep-1", "rep-2"):  # consent pages opened and abandoned
        status, _ = call("GmailFunction", api_event("POST", "/v1/integrations/google/authorize", user=user))
        assert status == 200
    assert google.mailbox(DEFAULT_MAILBOX).watched_until > 0
    return table


def store_on(aws_stack: dict[str, Physical], table: str, google_url: str) -> Any:
    settings = dsar_settings(
        aws_stack,
        MAIL_TABLE=table,
        GOOGLE_OAUTH_SECRET_ARN=aws_stack["GoogleOAuthSecret"].ref,
        GOOGLE_OAUTH_BASE_URL=google_url,
        GOOGLE_API_BASE_URL=google_url,
    )
    store = integrations_data(settings)
    assert store is not None
    return store


def items(table: str, prefix: str) -> list[dict[str, Any]]:
    response = aws.dynamodb().query(
        TableName=table,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :p)",
        ExpressionAttributeValues={":pk": {"S": f"ORG#{ORG}"}, ":p": {"S": prefix}},
    )
    return response["Items"]


def registry(table: str) -> list[str]:
    response = aws.dynamodb().query(
        TableName=table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "GMAIL#REGISTRY"}},
    )
    return sorted(item["sk"]["S"] for item in response["Items"])


def test_rows_list_the_connections_without_tokens(
    aws_stack: dict[str, Physical], google: GoogleDouble, connected: str
) -> None:
    store = store_on(aws_stack, connected, google.url)
    rows = list(store.rows(REP))
    assert [(row["service"], row["provider"]) for row in rows] == [
        ("gmail", "google"),
        ("calendar", "google"),
        ("calendar", "microsoft"),
        ("calendar_selection", "google"),
    ]
    assert rows[0]["mailbox"] == DEFAULT_MAILBOX
    assert rows[0]["status"] == "active"
    assert all(set(row) <= set(store.columns) for row in rows)
    assert not TOKEN_ATTRIBUTES & {column for row in rows for column in row}


def test_erasure_revokes_then_deletes_every_integration_of_the_user(
    aws_stack: dict[str, Physical], google: GoogleDouble, connected: str
) -> None:
    table = connected
    store = store_on(aws_stack, table, google.url)
    assert store.residue(REP) == 1 + 2 + 1 + 1  # gmail, two calendars, selection, one OAuth state
    result = store.erase(REP)
    # Gmail: integration, route and registry entry; two calendar connections; the selection; a state.
    assert (result.deleted, result.kept, result.kept_reasons) == (3 + 2 + 1 + 1, 0, ())
    assert google.mailbox(DEFAULT_MAILBOX).revoked  # revoked at Google
    assert google.mailbox(DEFAULT_MAILBOX).watched_until == 0  # and the Gmail watch stopped
    assert store.residue(REP) == 0
    assert items(table, "GMAIL#USER#rep-1") == []
    assert items(table, "CALENDAR#rep-1#") == []
    assert items(table, "CALSELECTED#rep-1") == []
    client = aws.dynamodb()
    assert "Item" not in client.get_item(TableName=table, Key=to_item(route_key(DEFAULT_MAILBOX)))
    assert store.erase(REP).deleted == 0  # idempotent
    # The other user keeps everything: integration, route, registry entry, grant, OAuth state.
    assert registry(table) == [f"{ORG}#rep-2"]
    assert DynamoIntegrationStore(client, table).find_by_mailbox(OTHER_MAILBOX) is not None
    assert not google.mailbox(OTHER_MAILBOX).revoked
    assert store.residue(Subject(ORG, user_ids=frozenset({"rep-2"}))) == 2


def test_a_provider_that_is_down_does_not_keep_the_tokens(
    aws_stack: dict[str, Physical], google: GoogleDouble, connected: str
) -> None:
    store = store_on(aws_stack, connected, "http://127.0.0.1:9")  # nothing listens there
    result = store.erase(REP)
    assert result.deleted == 3 + 2 + 1 + 1
    assert result.kept == 0
    # Gmail and the Google calendar could not be revoked (Microsoft has no revocation to fail).
    assert result.notes == (
        "revoke_failed: 2 grant(s) not revoked at the provider; their tokens were deleted",
    )
    assert store.residue(REP) == 0
    assert not google.mailbox(DEFAULT_MAILBOX).revoked


def test_a_subject_who_is_no_user_has_no_integrations(
    aws_stack: dict[str, Physical], google: GoogleDouble, connected: str
) -> None:
    store = store_on(aws_stack, connected, google.url)
    contact = Subject(ORG, emails=frozenset({DEFAULT_MAILBOX}), contact_ids=frozenset({"c-1"}))
    assert list(store.rows(contact)) == []
    assert store.erase(contact).deleted == 0
    assert registry(connected) == [f"{ORG}#rep-1", f"{ORG}#rep-2"]


def test_the_store_is_absent_without_the_mail_table(aws_stack: dict[str, Physical]) -> None:
    assert integrations_data(dsar_settings(aws_stack)) is None


def test_a_token_that_cannot_be_opened_is_deleted_all_the_same(
    aws_stack: dict[str, Physical], google: GoogleDouble, connected: str
) -> None:
    store = store_on(aws_stack, connected, google.url)
    for sk in ("GMAIL#USER#rep-1", "CALENDAR#rep-1#google"):  # corrupt: the disconnect paths now fail
        aws.dynamodb().update_item(
            TableName=connected,
            Key=to_item({"pk": f"ORG#{ORG}", "sk": sk}),
            UpdateExpression="SET token_ct = :garbage",
            ExpressionAttributeValues=to_item({":garbage": b"not a sealed token"}),
        )
    result = store.erase(REP)
    assert result.deleted == 3 + 2 + 1 + 1
    assert result.notes == (
        "revoke_failed: 2 grant(s) not revoked at the provider; their tokens were deleted",
    )
    assert store.residue(REP) == 0
    assert items(connected, "GMAIL#USER#rep-1") == []


def test_a_google_contacts_grant_alone_is_exported_revoked_and_erased_with_its_links(
    call: Invoke, aws_stack: dict[str, Physical], google: GoogleDouble
) -> None:
    """Issue 17, point 4: the Google Contacts grant of its own (no Gmail) and its person links."""
    from tests.integration.mail.test_gmail_api import import_google, person

    mailbox, user = "rep3@callproof.test", "rep-3"
    connect_gmail(call, mailbox, user=user, contacts=True)
    google.add_people(mailbox, [person("Ada L", "ada@customer.example")])
    body = import_google(call, aws_stack, user=user)
    assert body["counts"]["created"] == 1, body
    table = aws_stack["MailTable"].ref
    subject = Subject(ORG, user_ids=frozenset({user}))
    store = store_on(aws_stack, table, google.url)
    assert [(row["service"], row["status"]) for row in store.rows(subject)] == [("google_contacts", "active")]
    assert store.residue(subject) == 2  # the grant and one person link
    result = store.erase(subject)
    assert (result.deleted, result.notes) == (1, ())
    assert google.mailbox(mailbox).revoked  # revoked at Google
    assert items(table, "GCONTACTS#USER#rep-3") == items(table, "GPERSON#rep-3#") == []
    assert store.residue(subject) == 0

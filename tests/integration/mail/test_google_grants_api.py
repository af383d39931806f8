"""Issue 17, points 4, 5 and 7 in-process: the Google Contacts grant of its own (no Gmail scope),
``login_hint`` with the member's CallProof email, the page where Google sends the browser back, and
people deleted in Google marking their contacts. Handlers on moto, Google played by the local double."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from callproof import aws
from callproof.accounts.model import Member
from callproof.store.members_dynamo import DynamoMemberStore
from callproof.tenancy import Role
from callproof_local.google_double import CONTACTS_SCOPE, GMAIL_SCOPE, GoogleDouble
from callproof_local.template import Physical
from tests.integration.conftest import Invoke
from tests.integration.mail.test_gmail_api import google, import_google, person, public_event
from tests.support import api_event

__all__ = ["google"]  # the Google double fixture, shared with the Gmail API tests
MEMBER_EMAIL = "rep.one@callproof.test"  # rep-1's CallProof email, and the Google account they use
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.fixture
def member(aws_stack: dict[str, Physical]) -> str:
    store = DynamoMemberStore(aws.dynamodb(), aws_stack["AccountsTable"].ref)
    store.put(None, Member("org-a", "rep-1", MEMBER_EMAIL, "Rita Rep", roles=frozenset({Role.REP})))
    return MEMBER_EMAIL


def authorize(call: Invoke, contacts: bool) -> str:
    query = {"contacts": "true"} if contacts else None
    status, body = call("GmailFunction", api_event("POST", "/v1/integrations/google/authorize", query=query))
    assert status == 200, body
    return str(body["authorization_url"])


def params(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def callback_event(query: dict[str, str], accept: str = BROWSER) -> dict[str, Any]:
    event = public_event("GET", "/oauth/google/callback", query=query)
    event["headers"]["Accept"] = accept
    return event


def land(call: Invoke, url: str, accept: str = BROWSER) -> dict[str, Any]:
    """Google's consent screen (the double's: it consents as the login_hint account), then the
    browser landing on our callback: the raw answer."""
    consent = requests.get(url, allow_redirects=False, timeout=5)
    assert consent.status_code == 302
    back = params(consent.headers["Location"])
    return call.raw(
        "GmailCallbackFunction", callback_event({"state": back["state"], "code": back["code"]}, accept)
    )  # type: ignore[attr-defined,no-any-return]


def header(response: dict[str, Any], name: str) -> str:
    return str(response["multiValueHeaders"][name][0])


def contacts(call: Invoke, query: dict[str, str], org: str = "org-a") -> list[dict[str, Any]]:
    status, body = call("ContactsFunction", api_event("GET", "/v1/contacts", query=query, org=org))
    assert status == 200, body
    return list(body["items"])


def test_a_contacts_only_grant_imports_and_marks_people_deleted_in_google(
    call: Invoke, aws_stack: dict[str, Physical], google: GoogleDouble, member: str
) -> None:
    url = authorize(call, contacts=True)
    asked = params(url)
    assert (asked["scope"], asked["include_granted_scopes"], asked["login_hint"]) == (
        CONTACTS_SCOPE,  # contacts.readonly alone: no Gmail scope
        "false",  # nothing granted before: no incremental authorization
        member,  # the member's CallProof email
    )
    page = land(call, url)
    assert page["statusCode"] == 200
    assert header(page, "Content-Type").startswith("text/html")
    assert "Google Contacts is connected" in page["body"]
    assert google.mailbox(member).granted == {CONTACTS_SCOPE}  # Google granted no Gmail access
    assert call("GmailFunction", api_event("GET", "/v1/integrations/google"))[0] == 404  # no mailbox

    google.add_people(member, [person("Ada L", "ada@customer.example"), person("Bob B", "bob@buyer.example")])
    body = import_google(call, aws_stack)
    assert (body["counts"]["created"], body["removed_in_google"]) == (2, 0), body
    bob = next(c for c in contacts(call, {}) if c["name"] == "Bob B")

    google.delete_people(member, ["people/c2"])  # Bob deleted in Google Contacts
    body = import_google(call, aws_stack)
    assert (body["full_sync"], body["rows_done"], body["removed_in_google"]) == (False, 0, 1)
    status, shown = call(
        "ContactsFunction",
        api_event("GET", f"/v1/contacts/{bob['id']}", resource="/v1/contacts/{contact_id}"),
    )
    assert status == 200
    assert shown["removed_in_google"] is not None  # kept, marked with the time
    assert [c["name"] for c in contacts(call, {"removed_in_google": "true"})] == ["Bob B"]
    assert [c["name"] for c in contacts(call, {"removed_in_google": "false"})] == ["Ada L"]
    assert contacts(call, {"removed_in_google": "true"}, org="org-b") == []  # another org sees nothing
    again = import_google(call, aws_stack)  # replayed: nothing new, the mark stays as it was
    assert (again["rows_done"], again["removed_in_google"]) == (0, 0)
    status, same = call(
        "ContactsFunction",
        api_event("GET", f"/v1/contacts/{bob['id']}", resource="/v1/contacts/{contact_id}"),
    )
    assert same["removed_in_google"] == shown["removed_in_google"]
    status, refused = call(
        "ContactsFunction", api_event("GET", "/v1/contacts", query={"removed_in_google": "maybe"})
    )
    assert (status, refused["error"]["code"]) == (422, "validation_error")


def test_gmail_never_implies_contacts_and_contacts_after_gmail_is_incremental(
    call: Invoke, google: GoogleDouble, member: str
) -> None:
    url = authorize(call, contacts=False)
    assert (params(url)["scope"], params(url)["login_hint"]) == (GMAIL_SCOPE, member)
    assert "Gmail is connected" in land(call, url)["body"]
    status, body = call("GmailFunction", api_event("POST", "/v1/contacts/imports/google"))
    assert (status, body["error"]["code"]) == (409, "google_scope_missing")
    url = authorize(call, contacts=True)
    assert (params(url)["scope"], params(url)["include_granted_scopes"]) == (CONTACTS_SCOPE, "true")
    landed = land(call, url, accept="application/json")  # an API client asks for JSON
    assert header(landed, "Content-Type") == "application/json"
    assert '"grant":"contacts"' in landed["body"].replace(" ", "")
    assert google.mailbox(member).granted == {GMAIL_SCOPE, CONTACTS_SCOPE}  # one grant, both scopes
    status, body = call("GmailFunction", api_event("POST", "/v1/contacts/imports/google"))
    assert (status, body["source"]) == (202, "google"), body
    status, removed = call("GmailFunction", api_event("DELETE", "/v1/integrations/google"))
    assert (status, removed["revoked"]) == (200, True)
    status, body = call("GmailFunction", api_event("POST", "/v1/contacts/imports/google"))
    assert (status, body["error"]["code"]) == (409, "google_scope_missing")  # both grants went


def test_a_stranger_at_the_callback_gets_a_page_and_changes_nothing(
    call: Invoke, google: GoogleDouble, aws_stack: dict[str, Physical]
) -> None:
    for query in (
        {"state": "org-a." + "x" * 43, "code": "4/guess"},  # a guessed state of a real org
        {"state": "x", "error": "access_denied"},
        {"state": "<script>alert(1)</script>", "code": "y" * 5000},  # oversized: still a page
    ):
        page = call.raw("GmailCallbackFunction", callback_event(query))  # type: ignore[attr-defined]
        assert page["statusCode"] == 422
        assert header(page, "Content-Security-Policy").startswith("default-src 'none'")
        assert header(page, "X-Frame-Options") == "DENY"
        assert 'role="alert"' in page["body"]
        assert "<script>" not in page["body"]
        status, body = call("GmailCallbackFunction", callback_event(query, accept="application/json"))
        assert (status, body["error"]["code"] in {"oauth_failed", "invalid_input"}) == (422, True)
    calendar = public_event(
        "GET", "/oauth/google/calendar/callback", resource="/oauth/{provider}/calendar/callback",
        query={"state": "x", "code": "y"},
    )  # fmt: skip
    calendar["headers"]["Accept"] = BROWSER
    page = call.raw("CalendarCallbackFunction", calendar)  # type: ignore[attr-defined]
    assert page["statusCode"] == 409  # calendars not configured here: still a page, saying so
    assert "Calendar for CallProof" in page["body"]
    assert "administrator" in page["body"]
    items = aws.dynamodb().scan(TableName=aws_stack["MailTable"].ref)["Items"]  # test-only look
    assert items == []  # no grant, no token, no state left by any of it

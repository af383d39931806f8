"""Age on moto: under 16 the account is inactive (403 on every other function) until the guardian
confirms the link SES delivered; the confirmation page needs no login; bad dates are 4xx."""

from __future__ import annotations

import re
from typing import Any

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from tests.integration.conftest import Invoke
from tests.support import api_event


def public_event(method: str, token: str) -> dict[str, Any]:
    event = api_event(method, "/guardian/consent", query={"token": token})
    event["requestContext"].pop("authorizer")
    return event


def sent_link() -> str:
    messages = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages
    assert messages
    match = re.search(r"/guardian/consent\?token=(\S+)", messages[-1].body)
    assert match is not None
    return match.group(1)


@pytest.fixture(autouse=True)
def public_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCOUNTS_PUBLIC_BASE_URL", "https://api.example.com/dev")


def test_under_16_inactive_until_guardian_confirms(call: Invoke) -> None:
    kid = {"user": "kid-1"}
    body = {"birth_date": "2014-03-02", "guardian_name": "Ada Parent", "guardian_email": "parent@example.com"}
    status, age = call("AccountsFunction", api_event("PUT", "/v1/me/age", body=body, **kid))
    assert status == 200, age
    assert (age["status"], age["basis"]) == ("pending_guardian", "birth_date")
    assert age["guardian"]["consented_at"] is None

    status, refused = call("ContactsFunction", api_event("GET", "/v1/contacts", **kid))
    assert (status, refused["error"]["code"]) == (403, "guardian_consent_required")
    assert call("AccountsFunction", api_event("GET", "/v1/me", **kid))[0] == 200  # still reachable
    assert call("ContactsFunction", api_event("GET", "/v1/contacts"))[0] == 200  # other users unaffected

    token = sent_link()
    page = call.raw("AccountPagesFunction", public_event("GET", token))  # type: ignore[attr-defined]
    assert page["statusCode"] == 200
    assert "Ada Parent" in page["body"]
    assert call("ContactsFunction", api_event("GET", "/v1/contacts", **kid))[0] == 403  # GET changed nothing
    done = call.raw("AccountPagesFunction", public_event("POST", token))  # type: ignore[attr-defined]
    assert done["statusCode"] == 200

    assert call("ContactsFunction", api_event("GET", "/v1/contacts", **kid))[0] == 200
    status, age = call("AccountsFunction", api_event("GET", "/v1/me/age", **kid))
    assert age["status"] == "guardian_confirmed"
    assert (age["guardian"]["name"], age["guardian"]["email"], age["guardian"]["method"]) == (
        "Ada Parent",
        "parent@example.com",
        "email_link",
    )
    assert age["guardian"]["consented_at"] is not None

    forged = call.raw("AccountPagesFunction", public_event("POST", token[:-4] + "AAAA"))  # type: ignore[attr-defined]
    assert forged["statusCode"] == 400


def test_adult_and_bad_input(call: Invoke) -> None:
    assert call("AccountsFunction", api_event("GET", "/v1/me/age"))[0] == 404
    status, age = call("AccountsFunction", api_event("PUT", "/v1/me/age", body={"attests_16_or_over": True}))
    assert (status, age["status"], age["basis"], age["guardian"]) == (200, "active", "attestation", None)
    for body, field in (
        ({"birth_date": "2014-02-30"}, "birth_date"),
        ({"birth_date": "2999-01-01"}, "birth_date"),
        ({"birth_date": "2014-01-01"}, "guardian_name"),
        ({"birth_date": "2014-01-01", "guardian_name": "P", "guardian_email": "not-mail"}, "guardian_email"),
        ({"attests_16_or_over": True, "nickname": "x"}, "nickname"),
        ({}, "birth_date"),
    ):
        status, refused = call("AccountsFunction", api_event("PUT", "/v1/me/age", body=body))
        assert (status, refused["error"]["field"]) == (422, field), refused
    assert call("AccountsFunction", api_event("GET", "/v1/me/age"))[1]["status"] == "active"


def test_a_child_waiting_for_the_guardian_cannot_attest_16_instead(call: Invoke) -> None:
    """Issue 13, point 1 (PUT /v1/me/age): the age route is exempt from the guardian check, so it must
    not let a recorded birth date be replaced by an attestation or another date."""
    kid = {"user": "kid-2"}
    body = {"birth_date": "2014-03-02", "guardian_name": "Ada Parent", "guardian_email": "parent@example.com"}
    assert call("AccountsFunction", api_event("PUT", "/v1/me/age", body=body, **kid))[0] == 200
    for attempt in ({"attests_16_or_over": True}, {"birth_date": "2000-03-02"}):
        status, refused = call("AccountsFunction", api_event("PUT", "/v1/me/age", body=attempt, **kid))
        assert (status, refused["error"]["code"]) == (409, "conflict"), refused
    assert call("AccountsFunction", api_event("GET", "/v1/me/age", **kid))[1]["status"] == "pending_guardian"
    assert call("ContactsFunction", api_event("GET", "/v1/contacts", **kid))[0] == 403


def test_every_function_asks_the_age_question_until_it_is_answered(call: Invoke) -> None:
    """Issue 16, point 4: a member who never answered (a fresh account, or one older than the
    question) gets 428 age_confirmation_required from every gated route of every function, reaches
    the exempt ones, and passes at the next request once they answer; bad answers change nothing."""
    new = {"user": "new-1", "age_answered": False}
    gated = [
        ("ContactsFunction", api_event("GET", "/v1/contacts", **new)),
        ("CallLogsFunction", api_event("GET", "/v1/call-logs", **new)),
        ("AccountsFunction", api_event("PATCH", "/v1/me", body={"full_name": "New One"}, **new)),
    ]
    for function, event in gated:
        status, refused = call(function, event)
        assert (status, refused["error"]["code"], refused["error"]["field"]) == (
            428,
            "age_confirmation_required",
            "age",
        ), (function, refused)
    assert call("AccountsFunction", api_event("GET", "/v1/me", **new))[0] == 200
    assert call("AccountsFunction", api_event("GET", "/v1/me/consents", **new))[0] == 200
    assert call("AccountsFunction", api_event("GET", "/v1/me/age", **new))[0] == 404  # nothing recorded
    for body in ({"attests_16_or_over": False}, {"birth_date": "2014-02-30"}, {}):
        status, refused = call("AccountsFunction", api_event("PUT", "/v1/me/age", body=body, **new))
        assert status == 422, refused
    assert call("ContactsFunction", api_event("GET", "/v1/contacts", **new))[0] == 428  # still asked
    assert call("AccountsFunction", api_event("GET", "/v1/me/age", **new))[0] == 404

    answer = api_event("PUT", "/v1/me/age", body={"birth_date": "1990-06-01"}, **new)
    assert call("AccountsFunction", answer)[0] == 200
    for function, event in gated:  # the same Lambda environments: their refusals were not cached
        assert call(function, event)[0] == 200, function


def test_an_under_16_answer_without_the_guardian_stays_blocked(call: Invoke) -> None:
    kid = {"user": "kid-3", "age_answered": False}
    body = {"birth_date": "2014-03-02", "guardian_name": "Ada Parent", "guardian_email": "parent@example.com"}
    assert call("ContactsFunction", api_event("GET", "/v1/contacts", **kid))[0] == 428
    assert call("AccountsFunction", api_event("PUT", "/v1/me/age", body=body, **kid))[0] == 200
    status, refused = call("ContactsFunction", api_event("GET", "/v1/contacts", **kid))
    assert (status, refused["error"]["code"]) == (403, "guardian_consent_required")
